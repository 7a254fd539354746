"""Adapted from the project's shared peer /work/shared/peers/jax_fullflow.py (written for issue 21, not
part of this repository); the one change: --prompts-from FILE integrates cotflow's own prompts, as
written by `cotflow-bench full-flow-prompts` (scripts/bench-full-flow-peer.sh), so that the final
losses of the two can be compared.

Peer for `cotflow ode --params full`: the gradient flow of every entry of V and W (D x D each,
D = 2d + 2) on the mean teacher-forced CoT loss (notes/model.md sections 2-3) of N fixed prompts,
written the way a JAX user would: jax.grad of the loss, jit, diffrax (Tsit5 or Dopri5, PID
controller), float64, CPU.

Prompts: X ~ N(0, 1) (d x n), w* ~ N(0, I_d), y = X^T w*, GD chain w_{i+1} = w_i - eta S (w_i - w*),
S = X X^T / n, from numpy's default_rng(seed). Start: every entry of V and W iid N(0, scale^2)
(`train --init random`). Same distribution as cotflow's prompts and start, not the same draws;
with --prompts-from FILE the prompts are cotflow's: FILE holds raw little-endian float64, the N
d x d matrices S (row-major) and then the N vectors w*; the data block of Z Z^T is then
n [[S, S w*], [w*^T S, w*^T S w*]] (X X^T = n S, X y = n S w*, y^T y = n w*^T S w*).

Usage: python3 jax_fullflow.py [--d 10 --n 40 --k 5 --prompts 16384 --t-end 10 --solver tsit5
        --rtol 1e-6 --atol 1e-8 --norm max|rms --seed 0 --init-from initial_parameters.json --prompts-from prompts.f64
        --form vectorized|block|scan --rhs-only R]
(--form block: vectorized, keeping only the (d+1) x (d+1) data block of Z Z^T; --form scan: the per-step loop of peers/jax_train.py, Z Z^T carried and grown by one token per step.)
Prints one JSON line: compile and integration seconds (wall and CPU), steps, rejected steps,
right-hand-side evaluations (counted by a host callback in the vector field), initial and final
loss. --rhs-only R times R jitted gradient evaluations instead (ms per evaluation)."""
import argparse, json, os, resource, time
os.environ.setdefault("JAX_ENABLE_X64", "1")
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import diffrax


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def prompts(d, n, k, N, eta, seed, path=None):
    D = 2 * d + 2
    if path:
        raw = np.fromfile(path, dtype='<f8')
        if raw.size != N * (d * d + d):
            raise SystemExit(f'{path}: {raw.size} numbers, expected {N * (d * d + d)} for {N} prompts of d = {d}')
        S = raw[:N * d * d].reshape(N, d, d); ws = raw[N * d * d:].reshape(N, d)
        Sw = np.einsum('bij,bj->bi', S, ws)
        G0 = np.zeros((N, D, D))
        G0[:, :d, :d] = n * S; G0[:, :d, d] = n * Sw; G0[:, d, :d] = n * Sw
        G0[:, d, d] = n * np.einsum('bi,bi->b', ws, Sw)
    else:
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((N, d, n)); ws = rng.standard_normal((N, d))
        y = np.einsum('bdn,bd->bn', X, ws)
        S = X @ X.transpose(0, 2, 1) / n
        data = np.concatenate([X, y[:, None, :], np.zeros((N, d + 1, n))], axis=1)
        G0 = data @ data.transpose(0, 2, 1)                   # data part of Z Z^T, N x D x D
    w = np.zeros((k + 1, N, d))
    for i in range(k):
        w[i + 1] = w[i] - eta * np.einsum('bij,bj->bi', S, w[i] - ws)
    return jnp.asarray(G0), jnp.asarray(w)


def make_loss(d, n, k, N, form='vectorized'):
    D = 2 * d + 2
    if form in ('vectorized', 'block'):
        # Every chain step at once: g_i = G0 u_i + sum_{j<=i} c_j (c_j . u_i), u_i = W c_i, with
        # batched (k x D) products; no per-step copy of Z Z^T.
        mask = jnp.tril(jnp.ones((k, k)))
        def loss(y, G0, chain):
            V = y[:D * D].reshape(D, D); W = y[D * D:].reshape(D, D)
            w = jnp.transpose(chain[:k], (1, 0, 2)); wn = jnp.transpose(chain[1:], (1, 0, 2))   # N x k x d
            C = jnp.concatenate([jnp.zeros((N, k, d + 1)), w, jnp.ones((N, k, 1))], axis=2)   # chain tokens
            U = C @ W.T                                                                        # N x k x D
            A = (U @ jnp.transpose(C, (0, 2, 1))) * mask                                       # u_i . c_j, j <= i
            if G0.shape[-1] == D:
                g = U @ G0 + A @ C                                                             # G0 symmetric
            else:   # G0 holds only its non-zero data block (x, y rows and columns), (d+1) x (d+1)
                g = jnp.pad(U[..., :d + 1] @ G0, ((0, 0), (0, 0), (0, d + 1))) + A @ C
            pred = w + (g @ V[d + 1:2 * d + 1].T) / n
            return 0.5 * jnp.sum((pred - wn) ** 2) / N
        return loss
    def loss(y, G0, chain):
        V = y[:D * D].reshape(D, D); W = y[D * D:].reshape(D, D)
        def body(carry, i):
            G, tot = carry
            w, wn = chain[i], chain[i + 1]
            c = jnp.concatenate([jnp.zeros((N, d + 1)), w, jnp.ones((N, 1))], axis=1)
            G = G + jnp.einsum('bi,bj->bij', c, c)             # append chain token i
            g = jnp.einsum('bij,bj->bi', G, c @ W.T)            # Z Z^T W z_i
            pred = w + (g @ V.T)[:, d + 1:2 * d + 1] / n
            return (G, tot + 0.5 * jnp.sum((pred - wn) ** 2) / N), None
        (_, tot), _ = jax.lax.scan(body, (G0, 0.0), jnp.arange(k))
        return tot
    return loss


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--d', type=int, default=10); p.add_argument('--n', type=int, default=40)
    p.add_argument('--k', type=int, default=5); p.add_argument('--prompts', type=int, default=16384)
    p.add_argument('--t-end', type=float, default=10.0); p.add_argument('--solver', default='tsit5')
    p.add_argument('--rtol', type=float, default=1e-6); p.add_argument('--atol', type=float, default=1e-8)
    p.add_argument('--norm', default='max'); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--scale', type=float, default=0.05); p.add_argument('--form', default='vectorized')
    p.add_argument('--init-from', default=None, help='initial_parameters.json of cotflow (V, W row-major)'); p.add_argument('--rhs-only', type=int, default=0)
    p.add_argument('--prompts-from', default=None, help="cotflow's prompts (cotflow-bench full-flow-prompts)")
    a = p.parse_args()
    d, n, k, N = a.d, a.n, a.k, a.prompts
    D = 2 * d + 2; eta = n / (n + d + 1)
    t0w, t0c = time.perf_counter(), cpu()
    G0, chain = prompts(d, n, k, N, eta, a.seed, a.prompts_from)
    if a.form == 'block':
        G0 = G0[:, :d + 1, :d + 1]
    rng = np.random.default_rng(a.seed + 1000)
    y0 = jnp.asarray(a.scale * rng.standard_normal(2 * D * D))
    if a.init_from:
        ip = json.load(open(a.init_from)); y0 = jnp.asarray(np.array(ip['V'] + ip['W'], dtype=np.float64))
    loss = make_loss(d, n, k, N, a.form)
    grad = jax.grad(loss)
    setup = time.perf_counter() - t0w
    if a.rhs_only:
        f = jax.jit(lambda y, G0, chain: -grad(y, G0, chain))
        f(y0, G0, chain).block_until_ready()
        lf = jax.jit(loss); lf(y0, G0, chain).block_until_ready()
        tw, tc = time.perf_counter(), cpu()
        for _ in range(a.rhs_only):
            r = f(y0, G0, chain)
        r.block_until_ready()
        gw, gc = (time.perf_counter() - tw) / a.rhs_only, (cpu() - tc) / a.rhs_only
        tw, tc = time.perf_counter(), cpu()
        for _ in range(a.rhs_only):
            r = lf(y0, G0, chain)
        r.block_until_ready()
        lw, lc = (time.perf_counter() - tw) / a.rhs_only, (cpu() - tc) / a.rhs_only
        print(json.dumps(dict(peer='jax', what='rhs', form=a.form, d=d, n=n, k=k, prompts=N, grad_ms_wall=1e3 * gw, grad_ms_cpu=1e3 * gc,
                              loss_ms_wall=1e3 * lw, loss_ms_cpu=1e3 * lc, checksum=float(jnp.sum(r)))))
        return
    count = np.zeros(1, dtype=np.int64)
    def bump(_):
        count[0] += 1
    def field(t, y, args):
        jax.debug.callback(bump, t)
        return -grad(y, *args)
    solver = {'tsit5': diffrax.Tsit5(), 'dopri5': diffrax.Dopri5(), 'dopri8': diffrax.Dopri8()}[a.solver]
    norm = (lambda x: jnp.max(jnp.abs(x))) if a.norm == 'max' else diffrax.rms_norm
    ctrl = diffrax.PIDController(rtol=a.rtol, atol=a.atol, norm=norm)
    def solve(y0, G0, chain):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(field), solver, t0=0.0, t1=a.t_end, dt0=None, y0=y0,
                                  args=(G0, chain), stepsize_controller=ctrl, max_steps=1_000_000,
                                  saveat=diffrax.SaveAt(t1=True))
        return sol.ys[-1], sol.stats['num_accepted_steps'], sol.stats['num_rejected_steps'], loss(sol.ys[-1], G0, chain), loss(y0, G0, chain)
    tw, tc = time.perf_counter(), cpu()
    compiled = jax.jit(solve).lower(y0, G0, chain).compile()
    cw, cc = time.perf_counter() - tw, cpu() - tc
    tw, tc = time.perf_counter(), cpu()
    yT, acc, rej, lT, l0 = compiled(y0, G0, chain)
    lT.block_until_ready()
    iw, ic = time.perf_counter() - tw, cpu() - tc
    print(json.dumps(dict(peer='jax+diffrax', form=a.form, prompts_from=a.prompts_from, solver=a.solver, norm=a.norm, rtol=a.rtol, atol=a.atol, d=d, n=n, k=k, prompts=N,
                          t_end=a.t_end, setup_s=setup, compile_s_wall=cw, compile_s_cpu=cc, flow_s_wall=iw, flow_s_cpu=ic,
                          steps=int(acc), failed_steps=int(rej), rhs_evals=int(count[0]), initial_loss=float(l0), final_loss=float(lT),
                          jax=jax.__version__, diffrax=diffrax.__version__)))


if __name__ == '__main__':
    main()
