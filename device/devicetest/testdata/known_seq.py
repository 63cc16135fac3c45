"""known_seq.py: the PyTorch answers of device/devicetest/known_seq.go.

Run with the interop environment (internal/interop/setup.sh):

    /work/main/.venv/bin/python device/devicetest/testdata/known_seq.py

It prints the Go literals pasted into known_seq.go. Everything is computed in float64
by PyTorch's own modules (F.gelu, F.layer_norm, nn.LSTMCell, nn.GRUCell) and autograd;
the inputs are the small values written below, the same as in known_seq.go.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def go(name, t):
    vals = ", ".join(f"{v:.9g}" for v in t.detach().reshape(-1).tolist())
    print(f"\t{name} = []float32{{{vals}}}")


print("// GELU, tanh approximation: x, y, dy/dx (dy = 1)")
x = torch.tensor([-3, -1, -0.5, 0, 0.5, 1, 2, 3.0], requires_grad=True)
y = F.gelu(x, approximate="tanh")
y.sum().backward()
go("geluTanhY", y)
go("geluTanhDX", x.grad)

print("// LayerNorm over 4 columns, eps 1e-5")
x = torch.tensor([[1, 2, 3, 4], [-1, 0.5, 2, -3.0]], requires_grad=True)
w = torch.tensor([0.5, 1, -1, 2.0], requires_grad=True)
b = torch.tensor([0.1, 0.2, 0.3, 0.4], requires_grad=True)
dy = torch.tensor([[1, 0, 0, 0], [0.5, -1, 2, 0.25]])
y, mean, rstd = torch.ops.aten.native_layer_norm(x, [4], w, b, 1e-5)
(y * dy).sum().backward()
go("layerNormY", y)
go("layerNormMean", mean)
go("layerNormRStd", rstd)
go("layerNormDX", x.grad)
go("layerNormDGamma", w.grad)
go("layerNormDBeta", b.grad)

print("// LSTM cell, batch 2, hidden 2: weight_ih = I, so the gate pre-activations are x")
H = 2
pre = torch.tensor([[0.5, -1, 0.25, 2, -0.5, 1, 1.5, -2], [-1, 0.75, 0, -0.25, 2, -1.5, 0.5, 1]], requires_grad=True)
c0 = torch.tensor([[0.3, -0.7], [1.2, 0.1]], requires_grad=True)
h0 = torch.zeros(2, H)
cell = torch.nn.LSTMCell(4 * H, H)
with torch.no_grad():
    cell.weight_ih.copy_(torch.eye(4 * H))
    cell.weight_hh.zero_()
    cell.bias_ih.zero_()
    cell.bias_hh.zero_()
h1, c1 = cell(pre, (h0, c0))
wh = torch.tensor([[1, -0.5], [0.25, 2]])
wc = torch.tensor([[0.5, 1], [-1, 0.75]])
((h1 * wh).sum() + (c1 * wc).sum()).backward()
go("lstmH", h1)
go("lstmC", c1)
go("lstmDGX", pre.grad)
go("lstmDCPrev", c0.grad)

print("// GRU cell, batch 2, hidden 2: weight_ih = I, so GX is x; GH = h0·W_hhᵀ + b_hh")
gx = torch.tensor([[0.5, -1, 0.25, 2, -0.5, 1], [-1, 0.75, 0, -0.25, 2, -1.5]])
h0 = torch.tensor([[0.3, -0.7], [1.2, 0.1]])
whh = torch.tensor([[0.5, -0.25], [1, 0.5], [-0.75, 0.25], [0.1, -1], [0.6, 0.4], [-0.3, 0.8]])
bhh = torch.tensor([0.1, -0.2, 0.3, 0, -0.1, 0.2])
dh = torch.tensor([[1, -0.5], [0.25, 2]])
gh = h0 @ whh.T + bhh
go("gruGH", gh)
rows_h, rows_dgx, rows_dgh, rows_dhp = [], [], [], []
for r in range(2):  # one row at a time, so that bias_hh.grad is this row's DGH
    cell = torch.nn.GRUCell(3 * H, H)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.eye(3 * H))
        cell.bias_ih.zero_()
        cell.weight_hh.copy_(whh)
        cell.bias_hh.copy_(bhh)
    xr = gx[r : r + 1].clone().requires_grad_(True)
    hr = h0[r : r + 1].clone().requires_grad_(True)
    h1 = cell(xr, hr)
    (h1 * dh[r : r + 1]).sum().backward()
    rows_h.append(h1)
    rows_dgx.append(xr.grad)
    rows_dgh.append(cell.bias_hh.grad.reshape(1, -1))
    # h0's gradient is the direct part plus DGH·W_hh: DHPrev is the direct part.
    rows_dhp.append(hr.grad - cell.bias_hh.grad.reshape(1, -1) @ whh)
go("gruH", torch.cat(rows_h))
go("gruDGX", torch.cat(rows_dgx))
go("gruDGH", torch.cat(rows_dgh))
go("gruDHPrev", torch.cat(rows_dhp))
