/* avemo predict --html: one self-contained page (no network, no external script or font): the video, the
 * per-person emotion curves under it (inline SVG drawn by the inline script from the inline JSON), a cursor that
 * follows playback, and the face boxes of the current time drawn on a canvas over the video.
 *
 * When the script has drawn the chart it sets <body data-ready="N"> (N: curves drawn); each update of the
 * cursor and boxes sets data-time (the video's time) and data-boxes (boxes drawn). A page opened as
 * report.html#t=2.5 seeks there once the video's metadata is in. The browser test (tests/cli/test_predict_html.c,
 * headless chromium) reads these back. */
#include "cli/predict_people.h"

#include "core/err.h"
#include "core/fileio.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char *video_mime(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && !strcasecmp(dot, ".webm")) return "video/webm";
    if (dot && !strcasecmp(dot, ".ogv")) return "video/ogg";
    if (dot && (!strcasecmp(dot, ".mov") || !strcasecmp(dot, ".qt"))) return "video/quicktime";
    if (dot && !strcasecmp(dot, ".mkv")) return "video/x-matroska";
    return "video/mp4";
}

/* The <video> src: a data: URI of the file when small, else its absolute file: URL (percent-encoded). */
static int video_src(FILE *out, const char *path) {
    struct stat sb;
    if (stat(path, &sb)) return avemo_error(AVEMO_EIO, "%s: cannot read the video for the page", path);
    if (sb.st_size < HTML_EMBED_MAX_BYTES) {
        FILE *f = fopen(path, "rb");
        if (!f) return avemo_error(AVEMO_EIO, "%s: cannot open the video for the page", path);
        static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char in[3];
        size_t n;
        fprintf(out, "data:%s;base64,", video_mime(path));
        while ((n = fread(in, 1, 3, f)) > 0) {
            unsigned v = in[0] << 16 | (n > 1 ? in[1] << 8 : 0) | (n > 2 ? in[2] : 0);
            char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], n > 1 ? b64[v >> 6 & 63] : '=', n > 2 ? b64[v & 63] : '='};
            fwrite(q, 1, 4, out);
        }
        fclose(f);
        return AVEMO_OK;
    }
    char abs[PATH_MAX];
    if (!realpath(path, abs)) return avemo_error(AVEMO_EIO, "%s: cannot resolve the video's path", path);
    fputs("file://", out);
    for (const unsigned char *s = (const unsigned char *)abs; *s; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("/-_.~", *s))
            fputc(*s, out);
        else fprintf(out, "%%%02X", *s);
    return AVEMO_OK;
}

/* Per track [{"id", "probs": [per window: [K] or null]}] of the results pw (parallel to tl->people; n_classes 0:
 * none) into arr; -1 when out of memory. */
static int add_people(cJSON *arr, const avemo_timeline *tl, const avemo_person_window *pw, int K) {
    int W = tl->n_windows;
    const avemo_person_window **at = calloc((size_t)tl->n_tracks * W + 1, sizeof *at); /* [track, window] */
    if (!at) return -1;
    for (int i = 0; i < tl->n_people; i++)
        if (pw[i].n_classes) at[(size_t)(tl->people[i].track_id - 1) * W + tl->people[i].window] = &pw[i];
    for (int id = 1; id <= tl->n_tracks; id++) {
        cJSON *p = cJSON_CreateObject(), *pr = cJSON_AddArrayToObject(p, "probs");
        cJSON_AddNumberToObject(p, "id", id);
        for (int w = 0; w < W; w++) {
            const avemo_person_window *hit = at[(size_t)(id - 1) * W + w];
            cJSON_AddItemToArray(pr, hit ? cJSON_CreateFloatArray(hit->probs, K) : cJSON_CreateNull());
        }
        cJSON_AddItemToArray(arr, p);
    }
    free(at);
    return 0;
}

/* The page's data: {"duration", "width", "height", "classes", "t" (window centres), "people": [{"id", "probs":
 * [per window: [K] or null]}], "title", "faces": [[time, id, x0, y0, x1, y1]], "recording": [per window [K]] or null, "recording_name", and with the
 * bundled voice "fused": as "people", each person's face fused with the window's voice}. */
static char *page_json(const char *video_path, const people_view *v) {
    const avemo_timeline *tl = v->tl;
    int K = v->n_classes, W = tl->n_windows, n_rec = v->n_rec;
    const avemo_result *rec = v->rec;
    cJSON *d = cJSON_CreateObject();
    const char *base = strrchr(video_path, '/');
    cJSON_AddStringToObject(d, "title", base ? base + 1 : video_path);
    cJSON_AddNumberToObject(d, "duration", tl->duration_s);
    cJSON_AddNumberToObject(d, "width", tl->width);
    cJSON_AddNumberToObject(d, "height", tl->height);
    cJSON_AddNumberToObject(d, "sample_fps", tl->sample_fps);
    cJSON *cls = cJSON_AddArrayToObject(d, "classes"), *t = cJSON_AddArrayToObject(d, "t");
    for (int k = 0; k < K; k++) cJSON_AddItemToArray(cls, cJSON_CreateString(v->class_names[k]));
    for (int w = 0; w < W; w++) cJSON_AddItemToArray(t, cJSON_CreateNumber(w * tl->hop_s + tl->window_s / 2));
    cJSON *people = cJSON_AddArrayToObject(d, "people");
    if (add_people(people, tl, tl->people, K) || (v->fused && add_people(cJSON_AddArrayToObject(d, "fused"), tl, v->fused, K))) {
        cJSON_Delete(d);
        return NULL;
    }
    cJSON *faces = cJSON_AddArrayToObject(d, "faces");
    for (int i = 0; i < tl->n_faces; i++) {
        const avemo_face_sighting *f = &tl->faces[i];
        float row[6] = {(float)f->time_s, (float)f->track_id, f->box[0], f->box[1], f->box[2], f->box[3]};
        cJSON_AddItemToArray(faces, cJSON_CreateFloatArray(row, 6));
    }
    cJSON_AddStringToObject(d, "recording_name", v->fused ? "voice (the recording's, not a person's)" : v->rec_name);
    if (n_rec) {
        cJSON *r = cJSON_AddArrayToObject(d, "recording");
        for (int w = 0; w < n_rec; w++) cJSON_AddItemToArray(r, cJSON_CreateFloatArray(rec[w].probs, K));
    } else {
        cJSON_AddNullToObject(d, "recording");
    }
    char *s = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return s;
}

static const char PAGE_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>avemo: emotion over time</title>\n"
    "<style>body{font-family:sans-serif;margin:16px;color:#222}#stage{position:relative;display:inline-block}"
    "#video{display:block;max-width:960px}#overlay{position:absolute;left:0;top:0;pointer-events:none}"
    "#chart{display:block;margin-top:8px}.legend span{display:inline-block;margin-right:14px}"
    ".legend i{display:inline-block;width:12px;height:10px;margin-right:4px}</style></head>\n<body>\n"
    "<h3 id=\"title\"></h3>\n<div id=\"stage\"><video id=\"video\" controls preload=\"metadata\" src=\"";

/* Inline script: draws the chart from DATA, moves the cursor and draws the boxes on timeupdate. */
static const char PAGE_BODY[] =
    "\"></video><canvas id=\"overlay\"></canvas></div>\n<div class=\"legend\" id=\"legend\"></div>\n"
    "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n<script>\nconst DATA=";

static const char PAGE_SCRIPT[] =
    ";\n</script>\n<script>\n\"use strict\";\ndocument.getElementById('title').textContent='Emotion over time: '+DATA.title;\n"
    "const PAL=['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];\n"
    "const NS='http://www.w3.org/2000/svg',W=960,PH=110,L=60,R=10;\n"
    "function el(n,a,p){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);p.appendChild(e);return e;}\n"
    "function x(t){return L+(W-L-R)*t/Math.max(DATA.duration,1e-9);}\n"
    "function draw(){const svg=document.getElementById('chart');\n"
    " const panels=DATA.people.map(p=>({name:'person '+p.id+(DATA.fused?': face':''),probs:p.probs}));\n"
    " if(DATA.recording)panels.push({name:DATA.recording_name,probs:DATA.recording});\n"
    " if(DATA.fused)DATA.fused.forEach(p=>panels.push({name:'person '+p.id+': face + voice',probs:p.probs}));\n"
    " svg.setAttribute('width',W);svg.setAttribute('height',Math.max(1,panels.length)*(PH+24)+20);\n"
    " let curves=0;const cursors=[];\n"
    " panels.forEach((pn,i)=>{const y0=i*(PH+24)+18;\n"
    "  el('rect',{x:L,y:y0,width:W-L-R,height:PH,fill:'#fafafa',stroke:'#999'},svg);\n"
    "  el('text',{x:L+4,y:y0-4,'font-size':12,'font-weight':'bold'},svg).textContent=pn.name;\n"
    "  [0,0.5,1].forEach(v=>{el('text',{x:L-6,y:y0+PH*(1-v)+4,'font-size':10,'text-anchor':'end'},svg).textContent=v;});\n"
    "  DATA.classes.forEach((c,k)=>{let d='',pen=false;\n"
    "   pn.probs.forEach((pr,w)=>{if(!pr){pen=false;return;}const px=x(DATA.t[w]).toFixed(1),py=(y0+PH*(1-pr[k])).toFixed(1);\n"
    "    d+=(pen?'L':'M')+px+' '+py+' ';pen=true;});\n"
    "   if(d){el('path',{d:d,fill:'none',stroke:PAL[k%10],'stroke-width':2,'class':'curve'},svg);curves++;}});\n"
    "  cursors.push(el('line',{x1:L,x2:L,y1:y0,y2:y0+PH,stroke:'#000','stroke-width':1.5,'class':'cursor'},svg));});\n"
    " const yb=panels.length*(PH+24)+6,raw=DATA.duration/8,p10=Math.pow(10,Math.floor(Math.log10(Math.max(raw,1e-9)))),\n"
    "  m=raw/p10,step=(m<1.5?1:m<3.5?2:m<7.5?5:10)*p10;\n"
    " for(let v=0;v<=DATA.duration+1e-9;v+=step)el('text',{x:x(v),y:yb,'font-size':10,'text-anchor':'middle'},svg).textContent=+v.toFixed(3)+' s';\n"
    " const lg=document.getElementById('legend');\n"
    " DATA.classes.forEach((c,k)=>{const s=document.createElement('span');const b=document.createElement('i');\n"
    "  b.style.background=PAL[k%10];s.appendChild(b);s.appendChild(document.createTextNode(c));lg.appendChild(s);});\n"
    " return {curves:curves,cursors:cursors};}\n"
    "function emotionAt(id,t){const p=DATA.people.find(q=>q.id===id);if(!p)return '';let best=-1,bw=-1;\n"
    " DATA.t.forEach((c,w)=>{if(p.probs[w]&&(bw<0||Math.abs(c-t)<Math.abs(DATA.t[bw]-t)))bw=w;});\n"
    " if(bw<0)return '';p.probs[bw].forEach((v,k)=>{if(best<0||v>p.probs[bw][best])best=k;});\n"
    " return DATA.classes[best]+' '+p.probs[bw][best].toFixed(2);}\n"
    "const view=draw();const video=document.getElementById('video'),cv=document.getElementById('overlay');\n"
    "function update(){const t=video.currentTime||0;view.cursors.forEach(c=>{c.setAttribute('x1',x(t));c.setAttribute('x2',x(t));});\n"
    " const w=video.clientWidth||DATA.width,h=video.clientHeight||DATA.height;cv.width=w;cv.height=h;\n"
    " const g=cv.getContext('2d');g.clearRect(0,0,w,h);const sx=w/DATA.width,sy=h/DATA.height,tol=0.6/DATA.sample_fps;\n"
    " g.lineWidth=2;g.font='14px sans-serif';\n"
    " let boxes=0;DATA.faces.forEach(f=>{if(Math.abs(f[0]-t)>tol)return;const c=PAL[(f[1]-1)%10];g.strokeStyle=c;g.fillStyle=c;boxes++;\n"
    "  g.strokeRect(f[2]*sx,f[3]*sy,(f[4]-f[2])*sx,(f[5]-f[3])*sy);g.fillText('person '+f[1]+': '+emotionAt(f[1],t),f[2]*sx,Math.max(12,f[3]*sy-4));});\n"
    " document.body.setAttribute('data-time',t.toFixed(2));document.body.setAttribute('data-boxes',String(boxes));}\n"
    "['timeupdate','seeked'].forEach(e=>video.addEventListener(e,update));window.addEventListener('resize',update);\n"
    "video.addEventListener('loadedmetadata',()=>{const m=/t=([0-9.]+)/.exec(location.hash);if(m)video.currentTime=parseFloat(m[1]);update();});\n"
    "update();document.body.setAttribute('data-ready',String(view.curves));\n"
    "</script>\n</body></html>\n";

int predict_write_html(const char *html_path, const char *video_path, const people_view *v) {
    char *json = page_json(video_path, v);
    if (!json) return avemo_error(AVEMO_ENOMEM, "out of memory");
    atomic_file af;
    int rc = atomic_open(&af, html_path);
    if (rc) {
        free(json);
        return rc;
    }
    fputs(PAGE_HEAD, af.f);
    rc = video_src(af.f, video_path);
    if (!rc) {
        fputs(PAGE_BODY, af.f);
        for (const char *c = json; *c; c++) /* '<' escaped: no "</script>" in a name can end the script early */
            if (*c == '<') fputs("\\u003c", af.f);
            else fputc(*c, af.f);
        fputs(PAGE_SCRIPT, af.f);
        if (ferror(af.f)) rc = avemo_error(AVEMO_EWRITE, "%s: writing failed", html_path);
    }
    free(json);
    if (rc) atomic_abort(&af);
    return rc ? rc : atomic_commit(&af);
}
