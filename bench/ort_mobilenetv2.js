// ONNX Runtime side of the MobileNetV2 benchmark (npm onnxruntime-node, installed into build/ort by
// bench/ort_setup.sh): the ONNX export of the same architecture (bench/ort_export.py, BN folded), session options
// graphOptimizationLevel "all", intraOpNumThreads N, interOpNumThreads 1, sequential execution, default CPU
// memory arena. Same protocol as bench/twin.py: one warm-up run, then the best of R runs, in wall time
// (process.hrtime) or, with --cpu-time, process CPU time (process.cpuUsage: user + system of all threads).
//   usage: node bench/ort_mobilenetv2.js SPECS_FILE [--threads N] [--reps R] [--cpu-time]
// Prints "result <case> fwd <best ms> <GFLOP/s>" (forward 2 * the MACs of the spec line) and a "#" line.
'use strict';
const fs = require('fs');
const path = require('path');
const dir = path.join(__dirname, '..', 'build', 'ort');
const ort = require(path.join(dir, 'node_modules', 'onnxruntime-node'));

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function now(cpu) {
  if (cpu) {
    const u = process.cpuUsage();
    return (u.user + u.system) * 1e-6;
  }
  return Number(process.hrtime.bigint()) * 1e-9;
}

async function main() {
  const threads = arg('--threads', 2), reps = arg('--reps', 5), cpu = process.argv.includes('--cpu-time');
  console.log(`# onnxruntime-node ${require(path.join(dir, 'node_modules', 'onnxruntime-node', 'package.json')).version}` +
              ` mobilenet_v2: ${threads} threads, graph optimisation all, best of ${reps}, ${cpu ? 'CPU' : 'wall'} time`);
  for (const line of fs.readFileSync(process.argv[2], 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'spec' || !f[1].startsWith('infer')) continue;
    const [n, c, h, w] = f.slice(2, 6).map(Number), macs = Number(f[6]);
    const file = path.join(dir, `mnv2_c${c}_${h}x${w}_b${n}.onnx`);
    if (!fs.existsSync(file)) throw new Error(`${file} missing: run bench/ort_setup.sh`);
    const session = await ort.InferenceSession.create(file, {
      graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    });
    const data = new Float32Array(n * c * h * w);
    for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
    const feeds = { x: new ort.Tensor('float32', data, [n, c, h, w]) };
    await session.run(feeds); // warm-up
    let best = 1e30;
    for (let r = 0; r < reps; r++) {
      const t0 = now(cpu);
      await session.run(feeds);
      best = Math.min(best, now(cpu) - t0);
    }
    console.log(`result ${f[1]} fwd ${(best * 1e3).toFixed(3)} ${(2 * macs * n / best * 1e-9).toFixed(2)}`);
    console.log(`# ${f[1]} fwd: batch ${n}, ${(best * 1e3 / n).toFixed(2)} ms/image, ${(n / best).toFixed(2)} images/s`);
    await session.release();
  }
}

main().catch((e) => { console.error(`ort_mobilenetv2: ${e.message}`); process.exit(1); });
