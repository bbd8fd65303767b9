/* avemo frft: the fractional Fourier transform (spec 3.4) of each row of a .npy array (dsp/frft_rows.h).
 *
 *   avemo frft --order A [--method fast|direct|candan] --in X.npy --out Y.npy
 */
#include "avemo.h"
#include "cli/cli_args.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "dsp/frft_rows.h"
#include "io/npy.h"

#include <stdio.h>

typedef struct {
    double order;
    int method; /* frft_method */
    const char *in, *out;
} frft_args;

static const cli_choice frft_methods[] = {
    {"fast", FRFT_METHOD_FAST}, {"direct", FRFT_METHOD_DIRECT}, {"candan", FRFT_METHOD_CANDAN}, {NULL, 0}};

static const cli_option frft_options[] = {
    {CLI_DOUBLE(frft_args, order, "--order", "A", CLI_ANY), .required = 1,
     .help = "FRFT order: rotation angle A*pi/2; 1 = centered unitary DFT, 2 = time\n"
             "reversal"},
    {CLI_CHOICE(frft_args, method, "--method", frft_methods),
     .help = "fast    O(N log N) Ozaktas et al. 1996 (default)\n"
             "direct  O(N^2) sum of the discretised kernel (reference)\n"
             "candan  exactly unitary eigenvector DFRFT (Candan, Kutay & Ozaktas\n"
             "        2000), O(N^2)"},
    {CLI_STRING(frft_args, in, "--in", "X.npy"), .required = 1,
     .help = "the rows: complex64 or float32 (taken as real), shape [rows, N] or\n"
             "[N], N >= 2"},
    {CLI_STRING(frft_args, out, "--out", "Y.npy"), .required = 1, .help = "the transforms: complex64, X's shape"},
    {0}};

static const cli_command frft_command = {
    .name = "frft",
    .about = "  FRFT of order A of each row of X, written to Y. Grid t_n = (n - N/2)/sqrt(N) (spec 3.4); computed in\n"
             "  double precision, rows in parallel.\n",
    .groups = {{NULL, frft_options, 0}},
};

int cmd_frft(int argc, char **argv) {
    frft_args a = {.method = FRFT_METHOD_FAST};
    int status = cli_parse(&frft_command, argc, argv, &a, NULL);
    if (status != CLI_RUN) return status;
    npy_array x, y;
    int st = npy_read(a.in, &x);
    if (st) return cli_fail("frft", st);
    st = frft_npy_rows(&y, &x, a.in, a.order, (frft_method)a.method);
    npy_free(&x);
    if (st) return cli_fail("frft", st);
    st = npy_write(a.out, NPY_C64, y.ndim, y.shape, y.data);
    npy_free(&y);
    return st ? cli_fail("frft", st) : 0;
}
