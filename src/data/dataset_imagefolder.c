/* Image folders (data/dataset.h): <root>/<split>/<emotion>/IMAGE.{jpg,jpeg,png,bmp}, or <root>/<emotion>/IMAGE
 * (one split), one sample per image, in (split, class, file name) order. */
#include "core/err.h"
#include "data/dataset_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A folder holding image files directly (not only sub-folders). */
static int has_image_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)))
        found = e->d_name[0] != '.' && dataset_ext_index(dataset_file_ext(e->d_name), dataset_image_exts) >= 0;
    closedir(d);
    return found;
}

static int find_name(char **names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* Split names: the root's sub-folders (<root>/<split>/<class>/), or, when those hold images themselves, the
 * root alone (<root>/<class>/: *root_is_split set). */
static int find_splits(dataset *ds, const dir_list *top, int *root_is_split) {
    *root_is_split = 0;
    for (int i = 0; i < top->n && !*root_is_split; i++) {
        if (top->is_dir[i] != 1) continue;
        char *p = dataset_path_join(ds->root, top->names[i]);
        *root_is_split = p && has_image_files(p);
        free(p);
    }
    int n_split_dirs = *root_is_split ? 1 : 0;
    for (int i = 0; i < top->n && !*root_is_split; i++) n_split_dirs += top->is_dir[i] == 1;
    ds->split_names = calloc(n_split_dirs ? n_split_dirs : 1, sizeof *ds->split_names);
    if (!ds->split_names) return avemo_error(AVEMO_ENOMEM, "out of memory");
    if (*root_is_split) {
        const char *b = strrchr(ds->root, '/');
        ds->split_names[ds->n_splits++] = dataset_strdup(b && b[1] ? b + 1 : ds->root);
        return AVEMO_OK;
    }
    int rc = AVEMO_OK;
    for (int i = 0; i < top->n && !rc; i++)
        if (top->is_dir[i] == 1) ds->split_names[ds->n_splits++] = dataset_strdup(top->names[i]);
        else rc = dataset_add_skipped(ds, top->names[i], "file outside <split>/<class>/ folders (in %s)", ds->root);
    return rc;
}

/* The folder of split si (malloc'd). */
static char *split_dir(const dataset *ds, int si, int root_is_split) {
    return root_is_split ? dataset_strdup(ds->root) : dataset_path_join(ds->root, ds->split_names[si]);
}

/* Class names: the union of class folders over splits, sorted. */
static int find_classes(dataset *ds, int root_is_split) {
    int rc = AVEMO_OK;
    for (int si = 0; si < ds->n_splits && !rc; si++) {
        char *sdir = split_dir(ds, si, root_is_split);
        dir_list cl;
        if (!sdir) rc = avemo_error(AVEMO_ENOMEM, "out of memory");
        if (rc || (rc = dataset_list_dir(sdir, &cl))) { free(sdir); break; }
        for (int c = 0; c < cl.n && !rc; c++) {
            if (cl.is_dir[c] != 1) continue;
            if (find_name(ds->class_names, ds->n_classes, cl.names[c]) >= 0) continue;
            if (ds->n_classes == DATASET_MAX_CLASSES)
                rc = avemo_error(AVEMO_EFORMAT, "%s: more than %d class folders", sdir, DATASET_MAX_CLASSES);
            else ds->class_names[ds->n_classes++] = dataset_strdup(cl.names[c]);
        }
        dataset_dir_list_free(&cl);
        free(sdir);
    }
    if (!rc) qsort(ds->class_names, ds->n_classes, sizeof *ds->class_names, dataset_cmp_str);
    return rc;
}

/* The images of one class folder `cdir` (class `class_name` of split si), in file name order. */
static int add_class_images(dataset *ds, int si, const char *cdir, const char *class_name, int *cap) {
    int label = find_name(ds->class_names, ds->n_classes, class_name);
    dir_list im;
    /* listing without stat: d_type from readdir would do, but dataset_list_dir stats each entry; for 28,709
       FER2013 images that costs ~0.1 s, acceptable */
    int rc = dataset_list_dir(cdir, &im);
    if (rc) return rc;
    for (int k = 0; k < im.n && !rc; k++) {
        char *p = dataset_path_join(cdir, im.names[k]);
        if (!p) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        if (im.is_dir[k] == 2) rc = dataset_add_skipped(ds, p, "missing (broken link?) or unreadable");
        else if (im.is_dir[k]) rc = dataset_add_skipped(ds, p, "unexpected folder inside a class folder");
        else if (dataset_ext_index(dataset_file_ext(im.names[k]), dataset_image_exts) < 0)
            rc = dataset_add_skipped(ds, p, "not an image extension (jpg, jpeg, png, bmp)");
        else {
            dataset_sample *s = dataset_new_sample(ds, cap);
            char *stem = dataset_stem_of(im.names[k]);
            size_t idn = strlen(ds->split_names[si]) + strlen(class_name) + (stem ? strlen(stem) : 0) + 8;
            char *id = malloc(idn);
            if (!s || !stem || !id) {
                free(stem);
                free(id);
                free(p);
                rc = avemo_error(AVEMO_ENOMEM, "out of memory");
                break;
            }
            snprintf(id, idn, "%s__%s__%s", ds->split_names[si], class_name, stem);
            free(stem);
            s->id = id;
            s->video_path = p;
            s->label = s->emotion_code = label;
            s->split = si;
            continue;
        }
        free(p);
    }
    dataset_dir_list_free(&im);
    return rc;
}

/* The images of split si, in (class, file name) order. */
static int add_split_images(dataset *ds, int si, int root_is_split, int *cap) {
    char *sdir = split_dir(ds, si, root_is_split);
    if (!sdir) return avemo_error(AVEMO_ENOMEM, "out of memory");
    dir_list cl;
    int rc = dataset_list_dir(sdir, &cl);
    if (rc) {
        free(sdir);
        return rc;
    }
    for (int c = 0; c < cl.n && !rc; c++) {
        char *cdir = dataset_path_join(sdir, cl.names[c]);
        if (!cdir) { rc = avemo_error(AVEMO_ENOMEM, "out of memory"); break; }
        if (cl.is_dir[c] != 1) rc = dataset_add_skipped(ds, cdir, "file outside <class>/ folders");
        else rc = add_class_images(ds, si, cdir, cl.names[c], cap);
        free(cdir);
    }
    dataset_dir_list_free(&cl);
    free(sdir);
    return rc;
}

int dataset_scan_imagefolder(dataset *ds, const dataset_options *opt) {
    dir_list top;
    int rc = dataset_list_dir(ds->root, &top), cap = 0, root_is_split;
    if (rc) return rc;
    rc = find_splits(ds, &top, &root_is_split);
    dataset_dir_list_free(&top);
    if (!rc) rc = find_classes(ds, root_is_split);
    if (!rc && opt->n_classes && opt->n_classes != ds->n_classes)
        rc = avemo_error(AVEMO_EINVAL, "%s: %d class folders found but --classes %d asked", ds->root, ds->n_classes,
                         opt->n_classes);
    for (int si = 0; si < ds->n_splits && !rc; si++) rc = add_split_images(ds, si, root_is_split, &cap);
    return rc;
}
