/*
 * gpu.c - NVML through dlopen (see gpu.h).  The few NVML declarations
 * needed are repeated here, from NVIDIA's documented C API, because the
 * NVML headers are not installed on machines without the CUDA toolkit.
 */
#include "config.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpu.h"

typedef int nvml_return;             /* nvmlReturn_t; 0 is NVML_SUCCESS */
typedef void *nvml_device;           /* nvmlDevice_t */
struct nvml_utilization {            /* nvmlUtilization_t */
	unsigned int gpu, memory;
};

struct gpu {
	void *lib;
	bool ok;
	unsigned int ndev;
	char note[128];
	nvml_return (*shutdown)(void);
	nvml_return (*handle_by_index)(unsigned int, nvml_device *);
	nvml_return (*utilization)(nvml_device, struct nvml_utilization *);
};

gpu *gpu_new(const char *library)
{
	gpu *self = calloc(1, sizeof(*self));
	if (!self)
		return NULL;
	self->lib = dlopen(library, RTLD_NOW | RTLD_LOCAL);
	if (!self->lib) {
		snprintf(self->note, sizeof(self->note), "no NVIDIA driver: %s not found", library);
		return self;
	}
	nvml_return (*init)(void) = (nvml_return (*)(void))dlsym(self->lib, "nvmlInit_v2");
	nvml_return (*count)(unsigned int *) =
		(nvml_return (*)(unsigned int *))dlsym(self->lib, "nvmlDeviceGetCount_v2");
	self->shutdown = (nvml_return (*)(void))dlsym(self->lib, "nvmlShutdown");
	self->handle_by_index = (nvml_return (*)(unsigned int, nvml_device *))
		dlsym(self->lib, "nvmlDeviceGetHandleByIndex_v2");
	self->utilization = (nvml_return (*)(nvml_device, struct nvml_utilization *))
		dlsym(self->lib, "nvmlDeviceGetUtilizationRates");
	if (!init || !count || !self->shutdown || !self->handle_by_index || !self->utilization) {
		snprintf(self->note, sizeof(self->note), "%s lacks the NVML functions", library);
		dlclose(self->lib);
		self->lib = NULL;
		return self;
	}
	if (init() != 0) {
		snprintf(self->note, sizeof(self->note), "NVML did not initialise");
		dlclose(self->lib);
		self->lib = NULL;
		return self;
	}
	if (count(&self->ndev) != 0 || self->ndev == 0) {
		snprintf(self->note, sizeof(self->note), "no NVIDIA GPU found");
		self->shutdown();
		dlclose(self->lib);
		self->lib = NULL;
		return self;
	}
	self->ok = true;
	snprintf(self->note, sizeof(self->note), "%u device%s", self->ndev,
		 self->ndev == 1 ? "" : "s");
	return self;
}

void gpu_free(gpu *self)
{
	if (!self)
		return;
	if (self->lib) {
		if (self->ok)
			self->shutdown();
		dlclose(self->lib);
	}
	free(self);
}

bool gpu_available(const gpu *self)
{
	return self && self->ok;
}

const char *gpu_note(const gpu *self)
{
	return self ? self->note : "n/a";
}

double gpu_utilization(gpu *self)
{
	if (!gpu_available(self))
		return NAN;
	double sum = 0;
	for (unsigned int i = 0; i < self->ndev; i++) {
		nvml_device d;
		struct nvml_utilization u;
		if (self->handle_by_index(i, &d) != 0 || self->utilization(d, &u) != 0)
			return NAN;
		sum += u.gpu;
	}
	return sum / self->ndev;
}
