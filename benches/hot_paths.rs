//! The engine's hot paths, measured with criterion on data the bench makes itself:
//! tokenising and chunking a page, embedding a batch (the tiny random BERT from `fixtures`, or
//! the model in `MEDSHELF_MODEL` where set, for real figures), fusing two candidate lists, and
//! cutting a snippet. Run: `cargo bench --bench hot_paths`; CI only compiles it.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use medshelf::chunk::{chunk_page, ChunkOptions};
use medshelf::embed::{BertEmbedder, Embedder};
use medshelf::search::{fuse, snippet, Fusion};

/// A page of clinical prose, about 600 words.
fn page() -> String {
    let sentences = [
        "Serum ferritin above 4000 ng/mL predicted death within 28 days in septic shock.",
        "Patients received broad-spectrum antibiotics within one hour of recognition.",
        "Interleukin-6 (IL-6) levels fell after the second day of treatment with tocilizumab.",
        "HbA1c decreased by 1.2 percentage points after six months of metformin therapy.",
        "Vasopressors were titrated to a mean arterial pressure of 65 mmHg, as in Smith et al. 2019.",
    ];
    (0..24)
        .map(|i| sentences[i % sentences.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn model() -> (BertEmbedder, Option<tempfile::TempDir>) {
    if let Some(dir) = std::env::var_os("MEDSHELF_MODEL") {
        return (
            BertEmbedder::load(dir.as_ref()).expect("MEDSHELF_MODEL loads"),
            None,
        );
    }
    let tmp = tempfile::tempdir().expect("a temporary folder");
    medshelf::fixtures::write_tiny_model(tmp.path(), medshelf::Pooling::Mean).expect("tiny model");
    (
        BertEmbedder::load(tmp.path()).expect("tiny model loads"),
        Some(tmp),
    )
}

fn text_paths(c: &mut Criterion) {
    let (embedder, _keep) = model();
    let text = page();
    c.bench_function("tokenise_page", |b| {
        b.iter(|| embedder.token_spans(black_box(&text)))
    });
    let spans = embedder.token_spans(&text);
    let opts = ChunkOptions::for_model(embedder.info().max_tokens);
    c.bench_function("chunk_page", |b| {
        b.iter(|| chunk_page(1, black_box(&text), &spans, opts))
    });
    let passages = chunk_page(1, &text, &spans, opts);
    let batch: Vec<&str> = passages
        .iter()
        .cycle()
        .take(8)
        .map(|p| &text[p.start..p.end])
        .collect();
    let mut group = c.benchmark_group("embed");
    group.sample_size(10);
    group.bench_function("batch_of_8_passages", |b| {
        b.iter(|| embedder.embed(black_box(&batch)))
    });
    group.bench_function("one_query", |b| {
        b.iter(|| embedder.embed(black_box(&["ferritin in septic shock"])))
    });
    group.finish();
}

/// A query's projections: twenty rows through MedEmbed-small's widest layer (384 -> 1536), on
/// the kernel that reads weights in place against candle's matmul (gemm, which copies them) and
/// the int8 tiles; then a batch's, and attention.
fn small_products(c: &mut Criterion) {
    use candle_core::{Device, Module, Tensor};
    let (m, k, n) = (20, 384, 1536);
    let x: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let w: Vec<f32> = (0..n * k)
        .map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let bias = vec![0.01f32; n];
    let mut out = vec![0f32; m * n];
    let mut group = c.benchmark_group("linear_20x384x1536");
    group.bench_function("medshelf_rows_kernel", |b| {
        b.iter(|| medshelf::embed::kernels::linear_rows(black_box(&x), &w, &bias, m, k, &mut out))
    });
    let xt = Tensor::from_slice(&x, (m, k), &Device::Cpu).unwrap();
    let linear = candle_nn::Linear::new(
        Tensor::from_slice(&w, (n, k), &Device::Cpu).unwrap(),
        Some(Tensor::from_slice(&bias, n, &Device::Cpu).unwrap()),
    );
    group.bench_function("candle_linear", |b| {
        b.iter(|| linear.forward(black_box(&xt)).unwrap())
    });
    let quant = medshelf::embed::int8::QuantLinear::new(&w, &bias, n, k);
    group.bench_function("medshelf_int8", |b| {
        b.iter(|| quant.linear(black_box(&x), m, &mut out))
    });
    group.finish();

    // A batch's projection (eight texts of 200 tokens): gemm in f32 against the int8 tiles.
    let m = 1600;
    let x: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let mut out = vec![0f32; m * n];
    let xt = Tensor::from_slice(&x, (m, k), &Device::Cpu).unwrap();
    let mut group = c.benchmark_group("linear_1600x384x1536");
    group.sample_size(20);
    group.bench_function("candle_linear", |b| {
        b.iter(|| linear.forward(black_box(&xt)).unwrap())
    });
    group.bench_function("medshelf_int8", |b| {
        b.iter(|| quant.linear(black_box(&x), m, &mut out))
    });
    group.finish();

    // Attention for eight texts of 200 tokens, 12 heads of 32 (MedEmbed-small's shape).
    let (texts, length, heads, head_dim) = (8, 200, 12, 32);
    let qkv: Vec<f32> = (0..texts * length * 3 * heads * head_dim)
        .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
        .collect();
    let lengths = vec![length; texts];
    let mut out = vec![0f32; texts * length * heads * head_dim];
    // The int8 encoder's attention: bf16 products where the CPU has AVX512-BF16, else the
    // same f32 kernel as above.
    c.bench_function("attention_8x200x12x32_int8_encoder", |b| {
        b.iter(|| {
            medshelf::embed::kernels::attention_new(
                black_box(&qkv),
                &lengths,
                length,
                heads,
                head_dim,
                true,
            )
        })
    });
    c.bench_function("attention_8x200x12x32", |b| {
        b.iter(|| {
            medshelf::embed::kernels::attention(
                black_box(&qkv),
                &lengths,
                length,
                heads,
                head_dim,
                &mut out,
            )
        })
    });
}

fn ranking_paths(c: &mut Criterion) {
    let lexical: Vec<(i64, f32)> = (0..100)
        .map(|i| (i * 7 % 150, 30.0 - i as f32 * 0.2))
        .collect();
    let semantic: Vec<(i64, f32)> = (0..100)
        .map(|i| (i * 3 % 150, 0.9 - i as f32 * 0.005))
        .collect();
    c.bench_function("fuse_weighted_100x100", |b| {
        b.iter(|| fuse(black_box(&lexical), black_box(&semantic), Fusion::default()))
    });
    c.bench_function("fuse_rrf_100x100", |b| {
        b.iter(|| {
            fuse(
                black_box(&lexical),
                black_box(&semantic),
                Fusion::Rrf { k: 60.0 },
            )
        })
    });
    let text = page();
    let terms = ["ferritin", "septic", "shock"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.bench_function("snippet_600_words", |b| {
        b.iter(|| snippet(black_box(&text), &terms, 280))
    });
}

criterion_group!(benches, text_paths, small_products, ranking_paths);
criterion_main!(benches);
