"""PyTorch reference for the trainable head (src/model/, spec 4) on small configurations: every fusion
(attention, concat, ia, it, lt, intermediate, late), the unimodal heads, and the baseline audio stream.

Weights and inputs come from closed formulas that tests/model/test_head_torch.c evaluates identically, so only
the outputs are committed: tests/fixtures/model/head_<case>.safetensors holds eval-mode logits, train-mode
(batch-statistics BN, no dropout) logits, loss and every parameter and input gradient, and the BN running
statistics after that train step. Run with Debian's python3 (torch 1.13): /usr/bin/python3 tools/fixtures_head.py
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_writer  # noqa: E402

# the small configuration of tests/model/test_head_torch.c
B, K, T, VD, V1, V2 = 3, 4, 5, 12, 4, 6
AC, ACH, FC, NBLK, HID = 3, 5, 6, 2, 7
BASE = (4, 6, 7)  # baseline audio channels 10->64->128 | 128->256->128, shrunk
SMOOTH = 0.1
LABELS = [0, 3, 1]
# case name -> (modality, fusion, audio stream)
CASES = {
    'attention': ('av', 'attention', 'paper'), 'concat': ('av', 'concat', 'paper'),
    'ia': ('av', 'ia', 'baseline'), 'it': ('av', 'it', 'baseline'), 'lt': ('av', 'lt', 'baseline'),
    'intermediate': ('av', 'intermediate', 'paper'), 'late': ('av', 'late', 'paper'),
    'audio': ('audio', 'attention', 'paper'), 'video': ('video', 'attention', 'paper'),
    'attention_baseline': ('av', 'attention', 'baseline'),
    # the voice recipe's stream: baseline blocks with MaxPool1d(2, 2) (48 frames: 48 -> 23 -> 10 -> 4 -> 1)
    'audio_baseline_stride2': ('audio', 'attention', 'baseline', 2),
}


def name_hash(name):
    return sum((k + 1) * ord(ch) for k, ch in enumerate(name)) % 997


def formula(name, shape):
    """value[i] = 0.3 sin(0.7 i + 0.013 h + 0.5), h a hash of the name; running_var = 1 + 0.5 sin(..)^2."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    s = np.sin(0.7 * i + 0.013 * name_hash(name) + 0.5)
    v = 1.0 + 0.5 * s * s if name.endswith('running_var') else 0.3 * s
    return torch.tensor(v.astype(np.float32).reshape(shape))


SMALL = dict(K=K, T=T, VD=VD, V1=V1, V2=V2, AC=AC, ACH=ACH, FC=FC, NBLK=NBLK, HID=HID, BASE=BASE, AF=None)
# the paper's sizes (spec 4), for bench/torch_head.py
PAPER = dict(K=8, T=15, VD=1280, V1=64, V2=128, AC=10, ACH=64, FC=128, NBLK=4, HID=128, BASE=(64, 128, 256), AF=156)


class Head:
    def __init__(self, modality, fusion, audio_stream, dims=None, pool_stride=1):
        d = dict(SMALL if dims is None else dims)
        self.pool_stride = pool_stride
        K, T, VD, V1, V2, AC, ACH, FC, NBLK, BASE = (d[k] for k in ('K', 'T', 'VD', 'V1', 'V2', 'AC', 'ACH', 'FC', 'NBLK', 'BASE'))
        HID = d['HID']
        self.d = d
        self.mod, self.fusion, self.astream = modality, fusion, audio_stream
        self.P, self.BUF = {}, {}
        self.af = d['AF'] or (40 if audio_stream == 'paper' else 20 if pool_stride == 1 else 48)
        use_a, use_v = modality != 'video', modality != 'audio'
        if use_v:
            self.resblock('video.stage1', VD, V1)
            self.resblock('video.stage2', V1, V2)
        if use_a:
            if audio_stream == 'baseline':
                ch = [AC, BASE[0], BASE[1], BASE[2], BASE[1]]
                for b in range(4):
                    self.conv_bn('audio.block%d.conv' % (b + 1), ch[b], ch[b + 1], 3)
                t = [self.af]
                for b in range(4):
                    t.append((t[-1] - 4) // pool_stride + 1)  # valid k=3 conv, MaxPool1d(2, stride)
                self.a1, self.a2, self.ta1, self.ta2 = BASE[1], BASE[1], t[2], t[4]
            else:
                for b in range(4):
                    self.conv_bn('audio.block%d.conv' % (b + 1), AC if b == 0 else ACH, ACH, 3)
                self.conv_bn('audio.block1.shortcut', AC, ACH, 1)
                self.a1, self.a2, self.ta1, self.ta2 = ACH, ACH, self.af // 4, self.af // 16
        av = modality == 'av'
        if av and fusion in ('attention', 'concat'):
            self.linear('fusion.audio_proj', self.a2, FC)
            for b in range(NBLK):
                self.resblock('fusion.block%d' % (b + 1), FC + V2 if b == 0 else FC, FC)
            if fusion == 'attention':
                for p in 'qkv':
                    self.linear('fusion.attn.' + p, FC, FC)
                self.linear('fusion.gate', FC, 2)
            nf = FC + V2 + FC
        elif av and fusion == 'ia':
            self.param('fusion.av.q.weight', self.a1, self.a1)
            self.param('fusion.av.k.weight', self.a1, V1)
            self.param('fusion.va.q.weight', V1, V1)
            self.param('fusion.va.k.weight', V1, self.a1)
            nf = self.a2 + V2
        elif av and fusion in ('it', 'lt'):
            da, dv = (self.a1, V1) if fusion == 'it' else (self.a2, V2)
            self.attn_block('fusion.av', da, dv)
            self.attn_block('fusion.va', dv, da)
            nf = self.a2 + V2
        elif av and fusion == 'late':
            self.linear('audio_classifier', self.a2, K)
            self.linear('video_classifier', V2, K)
            nf = 0
        elif av and fusion == 'intermediate':
            nf = self.a2 + V2
            self.linear('mlp.hidden', nf, HID)
            nf = HID
        else:
            nf = self.a2 if modality == 'audio' else V2
        if nf:
            self.linear('classifier', nf, K)

    def param(self, name, *shape):
        self.P[name] = formula(name, shape).requires_grad_(True)

    def conv_bn(self, name, ci, co, k):
        self.param(name + '.conv.weight', co, ci, k)
        self.param(name + '.bn.weight', co)
        self.param(name + '.bn.bias', co)
        for b in ('running_mean', 'running_var'):
            self.BUF[name + '.bn.' + b] = formula(name + '.bn.' + b, (co,))

    def resblock(self, name, ci, co):
        self.conv_bn(name + '.conv1', ci, co, 3)
        self.conv_bn(name + '.conv2', co, co, 3)
        if ci != co:
            self.conv_bn(name + '.shortcut', ci, co, 1)

    def linear(self, name, i, o, bias=True):
        self.param(name + '.weight', o, i)
        if bias:
            self.param(name + '.bias', o)

    def attn_block(self, name, dq, dk):
        for n, d in (('norm1_q', dq), ('norm1_k', dk), ('norm2', dq)):
            self.param('%s.%s.weight' % (name, n), d)
            self.param('%s.%s.bias' % (name, n), d)
        self.param(name + '.attn.q.weight', dq, dq)
        self.param(name + '.attn.k.weight', dq, dk)
        self.param(name + '.attn.v.weight', dq, dk)
        self.linear(name + '.attn.proj', dq, dq)
        self.linear(name + '.mlp.fc1', dq, 2 * dq)
        self.linear(name + '.mlp.fc2', 2 * dq, dq)

    # ---- layers, channels-first [B, C, t] like PyTorch's Conv1d ----
    def f_conv_bn(self, name, x, pad, train):
        y = F.conv1d(x, self.P[name + '.conv.weight'], None, padding=pad)
        return F.batch_norm(y, self.BUF[name + '.bn.running_mean'], self.BUF[name + '.bn.running_var'],
                            self.P[name + '.bn.weight'], self.P[name + '.bn.bias'], training=train, momentum=0.1,
                            eps=1e-5)

    def f_resblock(self, name, x, train):
        h = F.relu(self.f_conv_bn(name + '.conv1', x, 1, train))
        h = self.f_conv_bn(name + '.conv2', h, 1, train)
        s = self.f_conv_bn(name + '.shortcut', x, 0, train) if name + '.shortcut.conv.weight' in self.P else x
        return F.relu(h + s)

    def f_audio(self, a, blocks, train):
        for b in blocks:
            n = 'audio.block%d' % (b + 1)
            if self.astream == 'baseline':  # conv1d_block_audio: valid conv, BN, ReLU, MaxPool1d(2, 1 or 2)
                a = F.max_pool1d(F.relu(self.f_conv_bn(n + '.conv', a, 0, train)), 2, self.pool_stride)
            else:
                s = self.f_conv_bn(n + '.shortcut', a, 0, train) if n + '.shortcut.conv.weight' in self.P else a
                a = F.max_pool1d(F.relu(self.f_conv_bn(n + '.conv', a, 1, train) + s), 2)
        return a

    def lin(self, name, x):
        return F.linear(x, self.P[name + '.weight'], self.P.get(name + '.bias'))

    def f_ia(self, name, xq, xk):
        """the baseline's `ia`: softmax(q k^T / sqrt(d)) column sums over the queries weight the keys' steps"""
        q, k = self.lin(name + '.q', xq.transpose(1, 2)), self.lin(name + '.k', xk.transpose(1, 2))
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)   # [B, tq, tk]
        return xk * att.sum(1).unsqueeze(1)

    def f_attn_block(self, name, xq, xk):
        """the baseline's AttentionBlock(xk, xq), tokens [B, t, c]"""
        nq = F.layer_norm(xq, xq.shape[-1:], self.P[name + '.norm1_q.weight'], self.P[name + '.norm1_q.bias'])
        nk = F.layer_norm(xk, xk.shape[-1:], self.P[name + '.norm1_k.weight'], self.P[name + '.norm1_k.bias'])
        q, k, v = self.lin(name + '.attn.q', nq), self.lin(name + '.attn.k', nk), self.lin(name + '.attn.v', nk)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
        x = self.lin(name + '.attn.proj', att @ v)
        h = F.layer_norm(x, x.shape[-1:], self.P[name + '.norm2.weight'], self.P[name + '.norm2.bias'])
        return x + self.lin(name + '.mlp.fc2', F.gelu(self.lin(name + '.mlp.fc1', h)))

    def forward(self, video, audio, train):
        T, FC, NBLK = self.d['T'], self.d['FC'], self.d['NBLK']
        v = a = None
        if self.mod != 'audio':
            v = self.f_resblock('video.stage1', video.permute(0, 2, 1), train)
        if self.mod != 'video':
            a = self.f_audio(audio.permute(0, 2, 1), (0, 1), train)
        if self.mod == 'av' and self.fusion == 'ia':
            v, a = self.f_ia('fusion.av', a, v), self.f_ia('fusion.va', v, a)
        elif self.mod == 'av' and self.fusion == 'it':
            at, vt = a.transpose(1, 2), v.transpose(1, 2)
            a, v = (at + self.f_attn_block('fusion.av', at, vt)).transpose(1, 2), \
                (vt + self.f_attn_block('fusion.va', vt, at)).transpose(1, 2)
        if v is not None:
            v = self.f_resblock('video.stage2', v, train)
        if a is not None:
            a = self.f_audio(a, (2, 3), train)
        if self.mod == 'av' and self.fusion in ('attention', 'concat'):
            ai = F.interpolate(self.lin('fusion.audio_proj', a.transpose(1, 2)).transpose(1, 2), size=T,
                               mode='linear', align_corners=False)
            x = torch.cat([ai, v], dim=1)
            for b in range(NBLK):
                x = self.f_resblock('fusion.block%d' % (b + 1), x, train)
            x = x.transpose(1, 2)
            if self.fusion == 'attention':
                q, k, vv = (self.lin('fusion.attn.' + p, x) for p in 'qkv')
                x = x + torch.softmax(q @ k.transpose(1, 2) / math.sqrt(FC), dim=-1) @ vv
            pj, pa, pv = x.mean(1), ai.mean(2), v.mean(2)
            if self.fusion == 'attention':
                g = torch.softmax(self.lin('fusion.gate', pj), dim=-1)
                pa, pv = g[:, :1] * pa, g[:, 1:] * pv
            return self.lin('classifier', torch.cat([pa, pv, pj], dim=1))
        if self.mod == 'av' and self.fusion == 'lt':
            at, vt = a.transpose(1, 2), v.transpose(1, 2)
            a, v = self.f_attn_block('fusion.av', at, vt).transpose(1, 2), \
                self.f_attn_block('fusion.va', vt, at).transpose(1, 2)
        pa = a.mean(2) if a is not None else None
        pv = v.mean(2) if v is not None else None
        if self.mod == 'av' and self.fusion == 'late':
            return 0.5 * (F.log_softmax(self.lin('audio_classifier', pa), -1) +
                          F.log_softmax(self.lin('video_classifier', pv), -1))
        feat = torch.cat([pa, pv], 1) if self.mod == 'av' else (pa if pa is not None else pv)
        if self.mod == 'av' and self.fusion == 'intermediate':
            feat = F.relu(self.lin('mlp.hidden', feat))
        return self.lin('classifier', feat)


def main():
    outdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'fixtures', 'model')
    for case, (mod, fusion, astream, *stride) in CASES.items():
        h = Head(mod, fusion, astream, pool_stride=stride[0] if stride else 1)
        video = torch.tensor(np.sin(0.37 * np.arange(B * T * VD) + 0.2).astype(np.float32).reshape(B, T, VD),
                             requires_grad=True)
        audio = torch.tensor(np.cos(0.23 * np.arange(B * h.af * AC)).astype(np.float32).reshape(B, h.af, AC),
                             requires_grad=True)
        labels = torch.tensor(LABELS)
        with torch.no_grad():
            logits_eval = h.forward(video, audio, False)
        logits = h.forward(video, audio, True)
        loss = F.cross_entropy(logits, labels, label_smoothing=SMOOTH)
        loss.backward()
        out = [('logits_eval', logits_eval.numpy()), ('logits_train', logits.detach().numpy()),
               ('loss_train', loss.detach().numpy().reshape(1))]
        if mod != 'audio':
            out.append(('grad.video_input', video.grad.numpy()))
        if mod != 'video':
            out.append(('grad.audio_input', audio.grad.numpy()))
        out += [('grad.' + n, p.grad.numpy()) for n, p in h.P.items()]
        out += [('after_train.' + n, b.numpy()) for n, b in h.BUF.items()]
        path = os.path.join(outdir, 'head_%s.safetensors' % case)
        st_writer.save(path, out, {'source': 'tools/fixtures_head.py', 'torch': torch.__version__})
        print('wrote', os.path.normpath(path), 'loss %.6f' % float(loss))


if __name__ == '__main__':
    main()
