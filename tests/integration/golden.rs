//! The candle path against sentence-transformers: the stand-in model's vectors for real chunk
//! texts must match `../shared/golden/` (cosine at least 0.999 for every text).

use medshelf::embed::cosine;
use medshelf::{BertEmbedder, Embedder, Pooling};

use crate::support::{shared, skip, standin_model};

#[test]
fn standin_matches_sentence_transformers() {
    let Some(model) =
        standin_model().or_else(|| skip("golden", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let Some(shared) = shared().or_else(|| skip("golden", "../shared is absent")) else {
        return;
    };
    let embedder = BertEmbedder::load(&model).unwrap();
    assert_eq!(
        embedder.info().pooling,
        Pooling::Mean,
        "pooling is read from 1_Pooling/config.json"
    );
    let golden = std::fs::read_to_string(shared.join("golden/minilm_golden.jsonl")).unwrap();
    let rows: Vec<(String, Vec<f32>)> = golden
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let text = v["text"].as_str().unwrap().to_string();
            let emb = v["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            (text, emb)
        })
        .collect();
    assert!(rows.len() >= 50);
    let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let batched = embedder.embed(&texts).unwrap();
    let mut worst = 1.0f32;
    for ((text, reference), v) in rows.iter().zip(&batched) {
        let c = cosine(reference, v);
        worst = worst.min(c);
        assert!(c >= 0.999, "cosine {c} for {text:?}");
    }
    eprintln!("golden: {} texts, worst cosine {worst:.8}", rows.len());
    // A text alone gives the vector it gets inside a batch of texts of other lengths.
    for (i, text) in texts.iter().enumerate().step_by(9) {
        let alone = &embedder.embed(&[text]).unwrap()[0];
        assert!(cosine(alone, &batched[i]) >= 0.99999, "{text:?}");
    }
}

/// The int8 encoder (`embed::int8`, `eval --int8`) against the same references: 8-bit weights
/// and activations cost some precision, never the meaning. Its retrieval cost is measured on
/// SciFact (docs/PERFORMANCE.md); here, that no text drifts far and a text alone still equals
/// the text in a batch.
#[test]
fn int8_stays_close_to_sentence_transformers() {
    let Some(model) =
        standin_model().or_else(|| skip("golden", "no stand-in model: run scripts/fetch-model"))
    else {
        return;
    };
    let Some(shared) = shared().or_else(|| skip("golden", "../shared is absent")) else {
        return;
    };
    let embedder = BertEmbedder::load_with(&model, medshelf::embed::Encoder::Int8).unwrap();
    let golden = std::fs::read_to_string(shared.join("golden/minilm_golden.jsonl")).unwrap();
    let mut texts = Vec::new();
    let mut references = Vec::new();
    for line in golden.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        texts.push(v["text"].as_str().unwrap().to_string());
        references.push(
            v["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect::<Vec<f32>>(),
        );
    }
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batched = embedder.embed(&texts).unwrap();
    let cosines: Vec<f32> = references
        .iter()
        .zip(&batched)
        .map(|(r, v)| cosine(r, v))
        .collect();
    let worst = cosines.iter().cloned().fold(1.0f32, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!(
        "golden int8: {} texts, worst cosine {worst:.5}, mean {mean:.5}",
        texts.len()
    );
    assert!(worst >= 0.995, "worst cosine {worst}");
    for (i, text) in texts.iter().enumerate().step_by(9) {
        let alone = &embedder.embed(&[text]).unwrap()[0];
        assert!(cosine(alone, &batched[i]) >= 0.99999, "{text:?}");
    }
}
