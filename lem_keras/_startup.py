"""TensorFlow's start-up noise, silenced without hiding anything that matters.

On a machine without an NVIDIA GPU the CUDA build of TensorFlow logs
``E ... cuda_platform.cc ... failed call to cuInit: ... CUDA error`` the first time it
looks for devices: an ERROR-level line (``TF_CPP_MIN_LOG_LEVEL=2`` keeps it) that only says
there is no GPU. :func:`silence_cuda_probe` makes that first look itself, with the
process's stderr (file descriptor 2) pointed at ``/dev/null`` for the duration of that one
call, and only where no NVIDIA device exists; where one does, nothing is hidden, so a real
GPU problem is still reported. Python warnings and every later TensorFlow message reach
stderr as usual.
"""

from __future__ import annotations

import glob
import os
import sys

# Device nodes of an NVIDIA driver (Linux, containers) and of WSL's GPU paravirtualisation.
_GPU_PATHS = ("/dev/nvidiactl", "/dev/nvidia[0-9]*", "/proc/driver/nvidia/gpus/*", "/dev/dxg")


def nvidia_gpu_present() -> bool:
    """Whether this machine shows an NVIDIA GPU driver (where cuInit can succeed)."""
    return any(glob.glob(pattern) for pattern in _GPU_PATHS)


def silence_cuda_probe() -> None:
    """Let TensorFlow look for GPUs now, without its cuInit error line when there is no GPU."""
    if not sys.platform.startswith("linux") or nvidia_gpu_present():
        return
    import tensorflow as tf

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return  # no real stderr to redirect (embedded interpreters): leave it as it is
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            tf.config.list_physical_devices()
        finally:
            os.dup2(saved, 2)
            os.close(null)
    finally:
        os.close(saved)
