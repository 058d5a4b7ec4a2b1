# SPDX-License-Identifier: BSD-3-Clause
"""The whole training step in one CUDA graph, replayed per batch.

On the device path (:class:`~sklearn_elr._torch_data.DeviceBatches`) an
eager step still launches some 60 kernels from Python per batch: on a GPU a
small network then waits on the host (issue 17: 0.5 M rows/s at batch 1024
on an H200 where the same step captured in a graph runs at 3.7 M).
:class:`StepGraph` captures skorch's ``train_step`` once per ``fit_loop``:
the batch's gather from the device-resident rows, the forward pass, the
loss with its ELR target update, the backward pass and the optimizer's
step. Each full batch then costs one index copy and one replay. The step
is skorch's own, so the graphed fit trains the model the eager fit trains,
batch for batch; the last, shorter batch of an epoch runs eagerly.

Only imported by the network estimators (it needs torch).
"""

import threading

import torch

from .callbacks import graph_unsafe_callback

#: Fits in threads take turns to capture: entering a capture synchronises
#: the device, which must not happen while another thread's capture runs.
_CAPTURE = threading.Lock()

#: Eager steps before the capture, on a side stream (PyTorch's recipe: lazy
#: initialisations, such as the optimizer's state, must not be captured).
WARMUP_STEPS = 3


def graph_obstacle(net):
    """Why ``net``'s training steps cannot be graphed, or None."""
    return _device_obstacle(net) or _step_obstacle(net)


def _device_obstacle(net):
    """What the device or the optimizer lacks for a graph (CUDA only)."""
    if torch.device(net.device).type != "cuda":
        return "it needs a CUDA device"
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return f"torch {torch.__version__} cannot replay private generators in a graph"
    for name in net._optimizers:
        optimizer = getattr(net, f"{name}_")
        if not _capturable(optimizer):
            return (
                f"the optimizer {type(optimizer).__name__} cannot be captured (torch's "
                "optimizers with capturable=True can, and Adam or AdamW with "
                "fused=True, the default on CUDA)"
            )
    return None


def _capturable(optimizer):
    """Whether the optimizer's step can run in a graph.

    A fused Adam keeps its step count on the device and runs one kernel
    whatever ``capturable`` says: the flag is set for the capture only
    (:meth:`StepGraph._capture`). Set for good, torch would warn at the
    first eager step of every unpickled copy that it slows them down.
    """
    groups = optimizer.param_groups
    if all(group.get("capturable", False) for group in groups):
        return True
    fused = all(group.get("fused", False) for group in groups)
    return fused and isinstance(optimizer, (torch.optim.Adam, torch.optim.AdamW))


def _step_obstacle(net):
    """What in the fit needs Python between or inside the steps."""
    if net._distributed():
        return "a distributed fit synchronises its gradients outside the graph"
    if net.compile:
        return "compile=True compiles the step already"
    if not net._graphs_steps():
        return f"{type(net).__name__} draws host-side randomness every step"
    name = graph_unsafe_callback(net.callbacks_, net.verbose)
    if name is not None:
        return f"the callback {name!r} works per batch"
    return None


def _hyperparameters(optimizers):
    """The optimizers' settings that a captured step holds as constants."""
    return [
        [{k: v for k, v in group.items() if k != "params"} for group in opt.param_groups]
        for opt in optimizers
    ]


def _detached(step):
    """The step's outputs without their autograd graph.

    A graph kept alive keeps its gradient accumulators, bound to the stream
    they ran on (the warm-up's side stream, the capture's): the next step on
    another stream would then warn of the mismatch and synchronise.
    """
    return {key: value.detach() if isinstance(value, torch.Tensor) else value
            for key, value in step.items()}  # fmt: skip


class StepGraph:
    """skorch's ``train_step`` captured once, replayed for each full batch.

    ``step(index)`` returns ``(batch, step)`` as ``iterator.gather`` and
    ``train_step`` would. The first :data:`WARMUP_STEPS` full batches run
    eagerly on a side stream; the next is captured and replayed, and so is
    every later one of ``batch_size`` rows. The optimizers' settings are
    compared each epoch (:meth:`still_valid`): a callback that changes the
    learning rate gets a fresh capture. The loss is copied out of the graph's
    buffer each batch, so the per-batch records stay distinct.
    """

    def __init__(self, net, iterator, step_fn, fit_params, strict=False):
        self.net, self.iterator, self.strict = net, iterator, strict
        self.step_fn, self.fit_params = step_fn, fit_params
        self.batch_size = iterator.batch_size
        self.device = torch.device(net.device)
        self.optimizers = [getattr(net, f"{name}_") for name in net._optimizers]
        self.settings = _hyperparameters(self.optimizers)
        self.warm = 0
        self.graph = self.index = self.batch = self.out = None
        self.failed = None  # why the capture failed ("auto": eager from then on)

    def still_valid(self):
        return _hyperparameters(self.optimizers) == self.settings

    def takes(self, index):
        return self.failed is None and len(index) == self.batch_size

    def step(self, index):
        if self.graph is None:
            if self.warm < WARMUP_STEPS:
                self.warm += 1
                return self._warmup(index)
            self.index = index.clone()
            try:
                self._capture()
            except RuntimeError as exc:
                # A step that needs the host mid-step (a module calling
                # .item(), say) cannot be captured; nothing of it ran.
                if self.strict:
                    raise RuntimeError(
                        f"cuda_graph=True but the training step cannot be captured: {exc}"
                    ) from exc
                self.failed = str(exc)
                return self._run(index)
        else:
            self.index.copy_(index)
        self._replay()
        return self.batch, {"loss": self.out["loss"].clone(), "y_pred": self.out["y_pred"]}

    def _run(self, index):
        batch = self.iterator.gather(index)
        return batch, self.step_fn(batch, **self.fit_params)

    def _warmup(self, index):
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            batch, step = self._run(index)
        torch.cuda.current_stream(self.device).wait_stream(side)
        return batch, _detached(step)

    def _capture(self):
        """Record the step on ``self.index``; nothing runs until the replay."""
        graph = torch.cuda.CUDAGraph()
        for generator in self._generators():
            graph.register_generator_state(generator)
        # "thread_local": work that other threads' fits do meanwhile (their
        # allocations, their loss fetches) does not break this capture.
        flipped = [
            group for opt in self.optimizers for group in opt.param_groups
            if not group.get("capturable", False)
        ]  # fmt: skip
        for group in flipped:
            group["capturable"] = True
        try:
            with _CAPTURE, torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self.batch, out = self._run(self.index)
        finally:
            for group in flipped:
                group["capturable"] = False
        self.out, self.graph = _detached(out), graph

    def _replay(self):
        self.graph.replay()

    def _generators(self):
        """The private generators the step draws from (the default MLP's dropout)."""
        seen = {}
        for name in self.net._modules:
            for module in getattr(self.net, f"{name}_").modules():
                generator = getattr(module, "_generator", None)
                if isinstance(generator, torch.Generator) and generator.device.type == "cuda":
                    seen[id(generator)] = generator
        return list(seen.values())
