/* avemo faces: face crops of videos or images -> DIR/<name>.npy (uint8 [frames, size, size] or
 * [frames, size, size, 3] with --color rgb) and DIR/<name>.json (per frame: status, source frame, boxes)
 * (data/featurizer_jobs.h). */
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/featurizer_args.h"
#include "core/err.h"
#include "core/fileio.h"
#include "data/featurizer_jobs.h"

#include <stdio.h>

static const cli_option faces_options[] = {
    {CLI_STRING(faces_job, out_dir, "--out", "DIR"), .required = 1,
     .help = "DIR/<input name without extension>.npy (uint8 [N, PX, PX], or\n"
             "[N, PX, PX, 3] with --color rgb) and DIR/<name>.json (boxes)"},
    {CLI_INT(faces_job, faces.frames, "--frames", "N", CLI_IN(1, 10000)),
     .help = "sampled frames per video (default " CLI_STR(AVEMO_FRAMES_PER_CLIP) "; an image gives 1)"},
    {CLI_INT(faces_job, faces.size, "--size", "PX", CLI_IN(8, 4096)),
     .help = "bilinear resize of the crop to PX x PX (default " CLI_STR(FACES_SIZE) ")"},
    {CLI_INT(faces_job, faces.detect_max_side, "--detect-size", "PX", CLI_AT_LEAST(0)),
     .help = "the first MTCNN pass runs on the frame shrunk to this longer side\n"
             "(default " CLI_STR(FACES_DETECT_MAX_SIDE) "; 0 = full resolution, the paper; else at least 48);\n"
             "the second pass refines the box at full resolution"},
    {CLI_FLAG(faces_job, keep_going, "--keep-going"),
     .help = "an input that fails is reported and the others are still written\n"
             "(exit status 2)"},
    {CLI_STRING(faces_job, mtcnn_path, "--mtcnn", "PATH"), .help = MTCNN_PATH_HELP},
    {0}};

static const cli_command faces_command = {
    .name = "faces",
    .inputs = "INPUT...",
    .min_inputs = 1,
    .about = "Face crops per input (SPEC 2): N sampled frames, MTCNN, the most confident face, a second MTCNN pass on\n"
             "the enlarged crop, grayscale, bilinear resize to PX x PX. A frame without a face is all zeros\n"
             "(counted, with a warning).\n",
    .groups = {{NULL, faces_options, 0}, {"face crops:", face_crop_cli_options, offsetof(faces_job, faces)}},
};

static void report_input(const faces_done *d, void *job_v) {
    const faces_job *job = job_v;
    if (d->status)
        fprintf(stderr, "avemo faces: %s\n", avemo_last_error());
    else if (d->n_noface > 0)
        fprintf(stderr, "avemo faces: warning: %s: no face in %d of %d frames (zero frames%s)\n", d->path, d->n_noface,
                d->n_frames, job->faces.reuse_box ? " unless a previous box was reused" : "");
}

int cmd_faces(int argc, char **argv) {
    faces_job job = {.progress = 1, .on_input = report_input};
    faces_default_config(&job.faces);
    job.ctx = &job;
    cli_inputs inputs;
    int status = cli_parse(&faces_command, argc, argv, &job, &inputs);
    if (status != CLI_RUN) return status;
    job_tally tally = {0};
    int st;
    if (job.faces.detect_max_side > 0 && job.faces.detect_max_side < 48)
        status = cli_usage_error("faces", "--detect-size must be 0 (full resolution) or at least 48");
    else if ((st = make_dirs(job.out_dir)))
        status = cli_fail("faces", st);
    else if ((st = faces_job_run(&job, inputs.items, inputs.n, &tally)))
        status = cli_fail("faces", st);
    else
        status = cli_exit_status(tally.status);
    if (tally.n_failed && job.keep_going)
        fprintf(stderr, "avemo faces: %d of %d inputs failed, %d written\n", tally.n_failed, inputs.n,
                tally.n_done - tally.n_failed);
    cli_inputs_free(&inputs);
    return status;
}
