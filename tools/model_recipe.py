#!/usr/bin/python3
"""The recorded training settings of the bundled models (models/recipe.json) and the check of a retrained set.

  tools/model_recipe.py record voice|face_stage1|face_stage2|face_stage3 RUN/report.json   # into models/recipe.json
  tools/model_recipe.py check WORK DEST [--shrunk]                             # scripts/make_models.sh's output

record: the `config` of an `avemo train` report (avemo's own record of every training option), less what
names this machine (paths, the data hash of the files read; a --train-extra cache is kept by its folder's name).
check: the reports in WORK (r-voice, fer96_s1, fer96_s2, fer96_s3) against models/recipe.json, and the metadata of
DEST/{voice,face}.safetensors against models/{voice,face}.safetensors; with --shrunk the fields a TINY=1 run
changes (epochs, stats_images, the epoch kept, BN batch counts, the calibration temperature: a TINY run does not
calibrate the voice) are left out; the "calibration" record (paths, fit numbers) is never compared. Exit 1 with the differences."""
import json, os, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPE = os.path.join(ROOT, "models", "recipe.json")
RUNS = {"voice": "r-voice", "face_stage1": "fer96_s1", "face_stage2": "fer96_s2", "face_stage3": "fer96_s3"}
LOCAL = {"data_hash", "backbone", "init_visual"}          # paths and hashes of this machine
SHRUNK = {"epochs", "stats_images", "selected", "num_batches_tracked", "temperature"}
# metadata that names this machine's paths or a fit's numbers (avemo calibrate's record): never compared
CALIBRATION = {"calibration"}
# fields that newer avemo versions write and older files lack (the stage-1 face model predates them): a field
# absent from the recorded side only
FORMAT_ADDED = {"format_version", "baseline_pool_stride"}


def strip(obj, drop):
    if isinstance(obj, dict):
        return {k: strip(v, drop) for k, v in obj.items() if k not in drop}
    if isinstance(obj, list):
        return [strip(v, drop) for v in obj]
    return obj


def report_config(path):
    with open(path) as f:
        cfg = strip(json.load(f)["config"], LOCAL)
    # train --train-extra: each cache by its folder's name (WORK differs between machines; the data hash is LOCAL)
    for e in cfg.get("train_extra", []):
        e["cache"] = os.path.basename(os.path.normpath(e["cache"]))
    return cfg


def metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        meta = json.loads(f.read(n)).get("__metadata__", {})
    out = {}
    for k, v in meta.items():
        try:
            out[k] = json.loads(v) if v[:1] in "{[" else v
        except ValueError:
            out[k] = v
    return out


def diff(a, b, where, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), where + "." + k, out)
    elif b is None and where.rsplit(".", 1)[-1] in FORMAT_ADDED:
        pass
    elif a != b:
        out.append("%s: %r != %r" % (where, a, b))


def main(argv):
    if len(argv) == 3 and argv[0] == "record":
        recipe = json.load(open(RECIPE)) if os.path.exists(RECIPE) else {}
        recipe[argv[1]] = report_config(argv[2])
        with open(RECIPE, "w") as f:
            json.dump(recipe, f, indent=1, sort_keys=True)
            f.write("\n")
        return 0
    if len(argv) >= 3 and argv[0] == "check":
        work, dest, drop = argv[1], argv[2], SHRUNK if "--shrunk" in argv else set()
        recipe, problems = json.load(open(RECIPE)), []
        for key, run in RUNS.items():
            report = os.path.join(work, run, "report.json")
            if key in recipe and os.path.exists(report):
                diff(strip(report_config(report), drop), strip(recipe[key], drop), key, problems)
            elif key in recipe:
                problems.append("%s: %s missing" % (key, report))
        for name in ("voice", "face"):
            mine = os.path.join(dest, name + ".safetensors")
            bundled = os.path.join(ROOT, "models", name + ".safetensors")
            diff(strip(metadata(mine), drop | CALIBRATION), strip(metadata(bundled), drop | CALIBRATION),
                 name + ".safetensors", problems)
        for p in problems:
            print(p)
        print("model_recipe: %d difference(s)" % len(problems))
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
