"""The timed training loop of the PyTorch bench peers (transformer_torch.py, train_tiny_torch.py): warm-up
steps, then per step zero_grad, the loss, backward, clip_grad_norm_(1.0) and the optimiser step, timed on
the wall clock and on this process's CPU clock (all threads)."""
import time

import torch


def timed_train_steps(opt, params, loss_fn, warmup, steps):
    """Runs warmup + steps training steps; returns (wall seconds per timed step, CPU seconds per timed step,
    the last loss)."""
    tt, ct = [], []
    loss = None
    for s in range(-warmup, steps):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=False)
        loss = loss_fn()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if s >= 0:
            tt.append(time.perf_counter() - t0)
            ct.append(time.process_time() - c0)
    return tt, ct, loss
