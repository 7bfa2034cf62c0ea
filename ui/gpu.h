/*
 * gpu.h - GPU utilisation through NVIDIA's NVML, loaded at run time.
 *
 * memtop does not link against the NVIDIA driver: it dlopen()s
 * libnvidia-ml.so.1 when the viewer starts.  Without it (no NVIDIA driver,
 * the usual case) the figure is unavailable and the viewer says "n/a";
 * nothing is estimated.
 */
#ifndef MEMTOP_UI_GPU_H
#define MEMTOP_UI_GPU_H

#include <stdbool.h>

#define GPU_NVML_LIBRARY "libnvidia-ml.so.1"

typedef struct gpu gpu;

/* Never NULL unless out of memory; library is the NVML to load (normally
 * GPU_NVML_LIBRARY). */
gpu *gpu_new(const char *library);
void gpu_free(gpu *self);
bool gpu_available(const gpu *self);
/* Why the figure is unavailable, or the number of devices read. */
const char *gpu_note(const gpu *self);
/* Mean utilisation of all devices in percent over the driver's last sample
 * period; NAN when unavailable or a read fails. */
double gpu_utilization(gpu *self);

#endif
