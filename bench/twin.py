"""The PyTorch side of the bench/run.sh protocol, shared by bench/torch_*.py (the C side is bench/twin.h):
usage: /usr/bin/python3 bench/torch_<name>.py SPECS_FILE [--threads N] [--reps R] [--cpu-time]"""
import sys
import time


class Args:
    def __init__(self, argv):
        self.specs = argv[0]
        self.threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else 2
        self.reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 5
        # --cpu-time: process CPU time (CPU_TIME=1 in run.sh), else wall time
        self.clock = time.process_time if "--cpu-time" in argv else time.perf_counter
        self.clock_name = "CPU" if "--cpu-time" in argv else "wall"

    def best(self, fn, reps=None):
        """Best time of `reps` runs of fn after one warm-up run (oneDNN primitive creation, allocations)."""
        fn()
        t = 1e30
        for _ in range(self.reps if reps is None else reps):
            t0 = self.clock()
            fn()
            t = min(t, self.clock() - t0)
        return t


def parse():
    return Args(sys.argv[1:])
