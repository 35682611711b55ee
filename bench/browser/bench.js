// The in-page half of the browser bench (bench/browser/run.mjs drives it in headless Chromium).
// One page runs one measurement: `await window.agqBench.run(spec)` with
//   spec = { engine: 'agq' | 'tfjs', backend: 'cpu' | 'webgpu' (agq) | 'wasm' | 'webgpu' | 'cpu' (tfjs),
//            net: 'lenet300' | 'lenet5', batch, warmup, steps, convGrad?: 'builtin' | 'custom' }
// and returns { imagesPerS, seconds, steps, backend, ... } or throws.
//
// Both sides train on real MNIST (www/data/mnist, the page's gz files), batch `batch`, SGD with
// lr 0.01 and momentum 0.9, no weight decay, softmax cross-entropy; each step gathers a batch of
// shuffled training images in host memory and hands it to the engine (as agq's trainer does).
// `warmup` steps run first (shader compilation, autotuning, allocation), their losses are read
// back, then `steps` steps are timed up to and including the read-back of their losses.

/**
 * The page's build of agq for `backend` (www/worker.js picks the same): pkg/agq_gpu.js (with
 * burn's WebGPU backend) for 'webgpu', else pkg/agq.js (CPU only), loaded and started.
 */
async function agqModule(backend) {
  const mod = await import(backend === 'webgpu' ? '../../pkg/agq_gpu.js' : '../../pkg/agq.js');
  const wasm = await mod.default();
  return { ...mod, wasm };
}

const MNIST = '../../www/data/mnist/';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
/** agq's MNIST normalization (src/data/mnist.rs). */
const MEAN = 0.1307;
const STD = 0.3081;
const LR = 0.01;
const MOMENTUM = 0.9;

const log = (s) => {
  document.getElementById('log').textContent += `${s}\n`;
};

async function fetchBytes(name) {
  const r = await fetch(MNIST + name);
  if (!r.ok) throw new Error(`${MNIST}${name}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const be32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** The training set decoded here (gunzip + IDX): normalized f32 pixels [n * 784] and u8 labels. */
async function mnistTrain(gzImages, gzLabels) {
  const img = await gunzip(gzImages);
  const lab = await gunzip(gzLabels);
  if (be32(img, 0) !== 0x803 || be32(lab, 0) !== 0x801) throw new Error('not IDX files');
  const n = be32(img, 4);
  const size = be32(img, 8) * be32(img, 12);
  if (size !== 784 || be32(lab, 4) !== n) throw new Error(`unexpected MNIST shapes: ${n} x ${size}`);
  const pixels = new Float32Array(n * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (img[16 + i] / 255 - MEAN) / STD;
  return { n, pixels, labels: lab.subarray(8, 8 + n) };
}

/** A seeded shuffled order of the training set and a batch gatherer over it. */
function batcher(data, batch, seed = 1) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0; // mulberry32
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Uint32Array.from({ length: data.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  let cursor = 0;
  return () => {
    if (cursor + batch > data.n) cursor = 0;
    const x = new Float32Array(batch * 784);
    const y = new Int32Array(batch);
    for (let k = 0; k < batch; k++) {
      const i = order[cursor + k];
      x.set(data.pixels.subarray(i * 784, (i + 1) * 784), k * 784);
      y[k] = data.labels[i];
    }
    cursor += batch;
    return { x, y };
  };
}

// ---------------------------------------------------------------- agq

/** What both engines report of their timed steps: seconds, steps, images/s, first and last loss. */
function timing(spec, seconds, losses) {
  return {
    seconds,
    steps: spec.steps,
    imagesPerS: (spec.steps * spec.batch) / seconds,
    lossFirst: losses[0],
    lossLast: losses[losses.length - 1],
  };
}

/** agq's `Lab` exactly as www/worker.js drives it: create, loadMnist (the gz files), start, advance. */
async function runAgq(spec, gz) {
  const { Lab, parseLink } = await agqModule(spec.backend);
  const t0 = performance.now();
  const lab = await Lab.create(spec.backend === 'webgpu');
  const backend = lab.backend();
  const createS = (performance.now() - t0) / 1000;
  if (backend.kind === 'webgpu') backend.adapter = await describeAdapter(backend.adapter);
  await lab.loadMnist(gz[0], gz[1], gz[2], gz[3]);
  const link = parseLink(`v=1&net=${spec.net}&method=none&epochs=1&batch=${spec.batch}&train_size=60000&optimizer=sgd&lr=${LR}&momentum=${MOMENTUM}&decay=0`);
  if (link.issues?.length) throw new Error(`agq rejected the config: ${JSON.stringify(link.issues)}`);
  const config = link.config;
  const info = lab.start(config);
  const w = await lab.advance(spec.warmup); // training steps (the epoch is longer than both calls)
  if (Number(w.steps) !== spec.warmup) throw new Error(`warm-up ran ${w.steps} of ${spec.warmup} steps`);
  const t1 = performance.now();
  const r = await lab.advance(spec.steps);
  const seconds = (performance.now() - t1) / 1000;
  if (Number(r.steps) !== spec.steps) throw new Error(`the timed call ran ${r.steps} of ${spec.steps} steps`);
  const losses = Array.from(r.losses);
  if (!losses.every(Number.isFinite)) throw new Error('agq produced a non-finite loss');
  return {
    engine: 'agq',
    backend: backend.kind,
    adapter: backend.adapter,
    note: backend.note,
    config: { net: config.net, method: config.method, batch: config.batch, optimizer: config.optimizer, lr: config.lr, momentum: config.momentum, decay: config.decay },
    totalParams: Number(info.totalParams),
    createS,
    ...timing(spec, seconds, losses),
  };
}

/** What the browser says about its WebGPU adapter (as www/worker.js reports it). */
async function describeAdapter(fallback) {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info ?? {};
    const parts = [info.vendor, info.architecture, info.device, info.description].map((p) => String(p ?? '').trim()).filter((p, i, a) => p && a.indexOf(p) === i);
    return parts.length ? parts.join(' · ') : fallback;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------- TensorFlow.js

/**
 * Conv2D whose filter gradient is itself a conv2d (stride 1, valid padding):
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n,oh+kh,ow+kw,ci] dy[n,oh,ow,co]
 *                 = conv2d(x transposed to [ci,h,w,n], dy transposed to [oh,ow,n,co]) -> [ci,kh,kw,co].
 * tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter kernel, so tf.conv2d cannot be
 * trained there; this keeps every kernel on the wasm backend (Conv2D, Conv2DBackpropInput,
 * Transpose). The input gradient is tf's own (conv2dTranspose); tfjs computes it for every
 * conv, as its built-in gradient does.
 */
function conv2dCustomGrad() {
  const tf = globalThis.tf;
  return tf.customGrad((x, f, save) => {
    save([x, f]);
    return {
      value: tf.conv2d(x, f, 1, 'valid'),
      gradFunc: (dy, [xs, fs]) => [
        tf.conv2dTranspose(dy, fs, xs.shape, 1, 'valid'),
        tf.tidy(() => tf.transpose(tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dy, [1, 2, 0, 3]), 1, 'valid'), [1, 2, 0, 3])),
      ],
    };
  });
}

/** The same architectures as src/nn/models (NHWC here; init does not matter for speed). */
function tfModel(net, convGrad) {
  const tf = globalThis.tf;
  const v = (shape, fanIn) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)));
  const conv = convGrad === 'custom' ? conv2dCustomGrad() : (x, f) => tf.conv2d(x, f, 1, 'valid');
  if (net === 'lenet300') {
    // fc 784->300 relu, fc 300->100 relu, fc 100->10 (src/nn/models/lenet300.rs)
    const p = { w1: v([784, 300], 784), b1: v([300], 784), w2: v([300, 100], 300), b2: v([100], 300), w3: v([100, 10], 100), b3: v([10], 100) };
    const forward = (x) => {
      let h = tf.fused.matMul({ a: x.reshape([-1, 784]), b: p.w1, bias: p.b1, activation: 'relu' });
      h = tf.fused.matMul({ a: h, b: p.w2, bias: p.b2, activation: 'relu' });
      return tf.fused.matMul({ a: h, b: p.w3, bias: p.b3 });
    };
    return { p, forward };
  }
  // conv 1->20 5x5, maxpool 2, conv 20->50 5x5, maxpool 2, fc 800->500 relu, fc 500->10
  // (src/nn/models/lenet5.rs: no activation after the convolutions)
  const p = {
    k1: v([5, 5, 1, 20], 25), c1: v([20], 25), k2: v([5, 5, 20, 50], 500), c2: v([50], 500),
    w1: v([800, 500], 800), b1: v([500], 800), w2: v([500, 10], 500), b2: v([10], 500),
  };
  const forward = (x) => {
    let h = tf.maxPool(tf.add(conv(x, p.k1), p.c1), 2, 2, 'valid');
    h = tf.maxPool(tf.add(conv(h, p.k2), p.c2), 2, 2, 'valid');
    h = tf.fused.matMul({ a: h.reshape([-1, 800]), b: p.w1, bias: p.b1, activation: 'relu' });
    return tf.fused.matMul({ a: h, b: p.w2, bias: p.b2 });
  };
  return { p, forward };
}

async function setTfBackend(name) {
  const tf = globalThis.tf;
  if (name === 'wasm') {
    // the backend's .wasm files from the same npm package (single-threaded SIMD unless the
    // page is cross-origin isolated, which python's http.server does not do)
    tf.wasm.setWasmPaths(new URL('node_modules/@tensorflow/tfjs-backend-wasm/dist/', document.baseURI).href);
  }
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`TensorFlow.js could not start its ${name} backend (it runs on ${tf.getBackend()})`);
  const env = {};
  if (name === 'wasm') {
    env.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    env.threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  if (name === 'webgpu') {
    const info = tf.backend().adapterInfo;
    env.adapter = await describeAdapter(info ? `${info.vendor ?? ''} ${info.architecture ?? ''}`.trim() : 'unknown');
  }
  return env;
}

async function runTfjs(spec, gz) {
  const tf = globalThis.tf;
  if (!tf) throw new Error('TensorFlow.js did not load (bench/browser/node_modules: run npm install there)');
  const env = await setTfBackend(spec.backend);
  const data = await mnistTrain(gz[0], gz[1]);
  const next = batcher(data, spec.batch);
  const model = tfModel(spec.net, spec.convGrad ?? 'builtin');
  const optimizer = tf.train.momentum(LR, MOMENTUM);
  const vars = Object.values(model.p);
  const shape = spec.net === 'lenet5' ? [spec.batch, 28, 28, 1] : [spec.batch, 784];
  const step = () => {
    const { x, y } = next();
    const xs = tf.tensor(x, shape);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), 10).asType('float32'));
    const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.forward(xs)), true, vars);
    xs.dispose();
    ys.dispose();
    return cost;
  };
  const readBack = async (costs) => {
    const all = tf.stack(costs);
    const values = Array.from(await all.data());
    all.dispose();
    costs.forEach((c) => c.dispose());
    return values;
  };
  const warm = [];
  for (let i = 0; i < spec.warmup; i++) warm.push(step());
  await readBack(warm);
  const t1 = performance.now();
  const costs = [];
  for (let i = 0; i < spec.steps; i++) costs.push(step());
  const losses = await readBack(costs);
  const seconds = (performance.now() - t1) / 1000;
  if (!losses.every(Number.isFinite)) throw new Error('TensorFlow.js produced a non-finite loss');
  const totalParams = vars.reduce((a, t) => a + t.size, 0);
  const result = {
    engine: 'tfjs',
    version: tf.version.tfjs,
    backend: tf.getBackend(),
    env,
    convGrad: spec.net === 'lenet5' ? (spec.convGrad ?? 'builtin') : undefined,
    totalParams,
    ...timing(spec, seconds, losses),
  };
  optimizer.dispose();
  vars.forEach((t) => t.dispose());
  return result;
}

// ---------------------------------------------------------------- quantization in wasm

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * A lab on the CPU backend with the VGG-16 snapshot loaded (`loadS`: seconds of
 * `loadSnapshot`), and the page's default PTQ settings for it (`config`).
 */
async function openVgg16() {
  const { wasm, Lab, parseLink } = await agqModule('cpu');
  const lab = await Lab.create(false);
  const r = await fetch('../../www/snapshots/vgg16.safetensors');
  if (!r.ok) throw new Error(`www/snapshots/vgg16.safetensors: HTTP ${r.status}`);
  const bytes = new Uint8Array(await r.arrayBuffer());
  const t0 = performance.now();
  const info = lab.loadSnapshot(bytes);
  const loadS = (performance.now() - t0) / 1000;
  return { wasm, lab, info, loadS, config: parseLink('v=1&net=vgg16&method=ptq').config };
}

/**
 * The VGG-16 snapshot (www/snapshots/vgg16.safetensors) in agq's wasm module, on the main
 * thread of this page (as the worker runs it): load, then PTQ + accounting + encoding of the
 * `.agq` file (`compressSnapshot`, 1 warm-up and `runs` timed, the median), re-accounting
 * after a slider change (`account` with alternating widths, `runs` timed, the median), and
 * the module's memory at the end (a wasm memory never shrinks: its peak).
 */
async function runQuantize({ runs = 5 } = {}) {
  const { wasm, lab, info, loadS, config } = await openVgg16();
  const compress = [];
  let fileBytes = 0;
  for (let i = 0; i <= runs; i++) {
    const t = performance.now();
    fileBytes = lab.compressSnapshot(config).length;
    if (i > 0) compress.push((performance.now() - t) / 1000);
  }
  const widths = [[0, 4, 5, 6], [0, 3, 4, 5]];
  const account = [];
  lab.account(config); // the first accounting indexes the snapshot (sorted importances)
  for (let i = 0; i < runs * 2; i++) {
    const t = performance.now();
    lab.account({ ...config, widths: widths[i % 2] });
    account.push(performance.now() - t);
  }
  return {
    engine: 'agq',
    backend: lab.backend().kind,
    params: Number(info.params),
    loadS,
    compressS: median(compress),
    compressRuns: compress,
    fileBytes,
    reaccountMs: median(account),
    reaccountRuns: account,
    memoryBytes: wasm.memory.buffer.byteLength,
  };
}

// ---------------------------------------------------------------- entry

async function run(spec) {
  log(`run ${JSON.stringify(spec)}`);
  const gz = await Promise.all(FILES.map(fetchBytes));
  const r = spec.engine === 'agq' ? await runAgq(spec, gz) : await runTfjs(spec, gz);
  log(`-> ${r.imagesPerS.toFixed(1)} images/s`);
  return r;
}

window.agqBench = { run, quantize: (o) => runQuantize(o), openVgg16 };
document.body.dataset.ready = 'true';
