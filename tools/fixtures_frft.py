"""Independent numpy reference for the FRFT's discretised kernel (spec 3.4) -> tests/fixtures/dsp/.

y[m] = 1/sqrt(N) sum_n A exp(i pi (cot u_m^2 - 2 csc u_m t_n + cot t_n^2)) x[n], A = sqrt(1 - i cot)
(principal root), t_n = u_n = (n - N//2) / sqrt(N). Integer orders come from numpy's FFT instead of the
kernel: a = 1 is fftshift(fft(ifftshift(x))) / sqrt(N), a = 2 is that applied twice, a = 3 the inverse.
Complex data is stored as float64 [..., 2] (re, im) so the C test can compare at 1e-12.
Run: /usr/bin/python3 tools/fixtures_frft.py   (or `make fixtures`)
"""
import os

import numpy as np

ORDERS = [0.3, 0.5, 0.75, 0.95, 1.1, 1.5, -0.6, 2.5, 1.0, 2.0, 3.0]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "dsp")


def centered_dft(x, inverse=False):
    n = len(x)
    f = np.fft.ifft if inverse else np.fft.fft
    s = np.sqrt(n) if inverse else 1.0 / np.sqrt(n)
    return np.fft.fftshift(f(np.fft.ifftshift(x))) * s


def frft_kernel(x, a):
    n = len(x)
    t = (np.arange(n) - n // 2) / np.sqrt(n)
    alpha = a * np.pi / 2
    cot, csc = np.cos(alpha) / np.sin(alpha), 1.0 / np.sin(alpha)
    amp = np.sqrt(1 - 1j * cot)  # principal root
    u = t[:, None]
    kern = amp * np.exp(1j * np.pi * (cot * u**2 - 2 * csc * u * t[None, :] + cot * t[None, :] ** 2))
    return kern @ x / np.sqrt(n)


def reference(x, a):
    if a == 1.0:
        return centered_dft(x)
    if a == 2.0:
        return centered_dft(centered_dft(x))
    if a == 3.0:
        return centered_dft(x, inverse=True)
    return frft_kernel(x, a)


def as_pairs(z):
    return np.stack([z.real, z.imag], axis=-1).astype(np.float64)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20250101)
    np.save(os.path.join(OUT, "frft_orders.npy"), np.array(ORDERS, dtype=np.float64))
    for n in (16, 15):
        x = rng.standard_normal(n) + 1j * rng.standard_normal(n)
        y = np.stack([reference(x, a) for a in ORDERS])
        np.save(os.path.join(OUT, f"frft_x_n{n}.npy"), as_pairs(x))
        np.save(os.path.join(OUT, f"frft_y_n{n}.npy"), as_pairs(y))
        print(f"n={n}: {len(ORDERS)} orders written to {OUT}")


if __name__ == "__main__":
    main()
