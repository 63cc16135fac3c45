// sgemm_cblas times OpenBLAS's cblas_sgemm called directly from C on the reference
// job's shapes and the square sizes of BenchmarkSgemm, without numpy's per-call
// overhead (about a microsecond, as much as the smallest products take). It links the
// OpenBLAS that numpy bundles (scipy-openblas, 64-bit ints, symbols prefixed scipy_):
//
//   LIB=$(ls /tmp/blasvenv/lib/python3*/site-packages/numpy.libs/libscipy_openblas64_*.so)
//   gcc -O2 -o /tmp/sgemm_cblas bench/sgemm_cblas.c "$LIB" -Wl,-rpath,$(dirname "$LIB")
//   OPENBLAS_NUM_THREADS=1 /tmp/sgemm_cblas
//
// It prints one JSON object per line: shape, gflops and gflops_cpu, from the medians of
// 30 timed batches of wall-clock and thread CPU time (each batch ~20 MFLOP).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp(const void *a, const void *b) {
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void scipy_cblas_sgemm64_(int order, int transa, int transb, int64_t m, int64_t n, int64_t k,
                          float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                          float beta, float *c, int64_t ldc);

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

static double now(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct shape {
	const char *name;
	int m, n, k, ta, tb;
};

int main(void) {
	struct shape shapes[] = {
		{"n=128", 128, 128, 128, 0, 0},
		{"n=512", 512, 512, 512, 0, 0},
		{"n=2048", 2048, 2048, 2048, 0, 0},
		{"fwd1_32x128x784_NT", 32, 128, 784, 0, 1},
		{"fwd2_32x64x128_NT", 32, 64, 128, 0, 1},
		{"fwd3_32x10x64_NT", 32, 10, 64, 0, 1},
		{"dw1_128x784x32_TN", 128, 784, 32, 1, 0},
		{"dw2_64x128x32_TN", 64, 128, 32, 1, 0},
		{"dw3_10x64x32_TN", 10, 64, 32, 1, 0},
		{"dx2_32x128x64_NN", 32, 128, 64, 0, 0},
		{"dx3_32x64x10_NN", 32, 64, 10, 0, 0},
	};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		struct shape sh = shapes[s];
		float *a = malloc(sizeof(float) * sh.m * sh.k);
		float *b = malloc(sizeof(float) * sh.k * sh.n);
		float *c = malloc(sizeof(float) * sh.m * sh.n);
		for (int i = 0; i < sh.m * sh.k; i++) a[i] = (float)rand() / RAND_MAX - 0.5f;
		for (int i = 0; i < sh.k * sh.n; i++) b[i] = (float)rand() / RAND_MAX - 0.5f;
		int64_t lda = sh.ta ? sh.m : sh.k, ldb = sh.tb ? sh.k : sh.n;
		double flops = 2.0 * sh.m * sh.n * sh.k;
		int reps = (int)(2e7 / flops) + 1;
		double wall[30], cpu[30];
		for (int r = 0; r < 31; r++) {
			double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_THREAD_CPUTIME_ID);
			for (int i = 0; i < reps; i++)
				scipy_cblas_sgemm64_(RowMajor, sh.ta ? Trans : NoTrans, sh.tb ? Trans : NoTrans,
				                     sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, c, sh.n);
			double t = (now(CLOCK_MONOTONIC) - t0) / reps, tc = (now(CLOCK_THREAD_CPUTIME_ID) - c0) / reps;
			if (r == 0) continue; // warm-up
			wall[r - 1] = t, cpu[r - 1] = tc;
		}
		qsort(wall, 30, sizeof wall[0], cmp);
		qsort(cpu, 30, sizeof cpu[0], cmp);
		double t = (wall[14] + wall[15]) / 2, tc = (cpu[14] + cpu[15]) / 2;
		printf("{\"shape\": \"%s\", \"gflops\": %.1f, \"gflops_cpu\": %.1f, \"ns_per_op\": %.0f}\n",
		       sh.name, flops / t / 1e9, flops / tc / 1e9, t * 1e9);
		free(a), free(b), free(c);
	}
	return 0;
}
