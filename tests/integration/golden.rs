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
