//! Fixtures the project makes itself, for its tests and its end-to-end harness: PDFs with known
//! text (several pages, two columns, ligatures, running headers) and a tiny random-weight BERT
//! with a small WordPiece vocabulary in the Hugging Face layout, so no test needs a download.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Document, Object, Stream, StringFormat};

use crate::embed::Pooling;

/// One page of a fixture PDF: one column of lines, or two side by side.
#[derive(Debug, Clone, Default)]
pub struct FixturePage {
    /// The columns, left to right; each a list of lines. Write "ﬁ" or "ﬂ" to get a ligature glyph.
    pub columns: Vec<Vec<String>>,
    /// A running header printed at the top of the page.
    pub header: Option<String>,
}

impl FixturePage {
    /// A one-column page.
    pub fn text(lines: &[&str]) -> Self {
        FixturePage {
            columns: vec![lines.iter().map(|s| s.to_string()).collect()],
            header: None,
        }
    }
}

/// Writes a PDF with Helvetica text, laid out as `pages` say, and `title` in its Info dictionary.
pub fn write_pdf(path: &Path, title: Option<&str>, pages: &[FixturePage]) -> std::io::Result<()> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    // Codes 1 and 2 draw the fi and fl ligature glyphs, as many journals' fonts do.
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => dictionary! {
            "Type" => "Encoding",
            "BaseEncoding" => "WinAnsiEncoding",
            "Differences" => vec![1.into(), Object::Name(b"fi".to_vec()), Object::Name(b"fl".to_vec())],
        },
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for (number, page) in pages.iter().enumerate() {
        let mut ops = Vec::new();
        let mut block = |x: f64, y: f64, lines: &[String]| {
            ops.push(Operation::new("BT", vec![]));
            ops.push(Operation::new("Tf", vec!["F1".into(), 11.into()]));
            ops.push(Operation::new("TL", vec![14.into()]));
            ops.push(Operation::new("Td", vec![x.into(), y.into()]));
            for line in lines {
                ops.push(Operation::new(
                    "Tj",
                    vec![Object::String(encode(line), StringFormat::Literal)],
                ));
                ops.push(Operation::new("T*", vec![]));
            }
            ops.push(Operation::new("ET", vec![]));
        };
        if let Some(header) = &page.header {
            block(72.0, 770.0, std::slice::from_ref(header));
        }
        let width = 468.0 / page.columns.len().max(1) as f64;
        for (i, column) in page.columns.iter().enumerate() {
            block(72.0 + i as f64 * width, 740.0, column);
        }
        // A page number at the foot, as real papers have.
        block(300.0, 40.0, &[format!("{}", number + 1)]);
        let content = Content { operations: ops };
        let bytes = content.encode().map_err(std::io::Error::other)?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, bytes));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        });
        kids.push(page_id.into());
    }
    set_pages(&mut doc, pages_id, kids);
    if let Some(title) = title {
        let info_id = doc.add_object(dictionary! {
            "Title" => Object::String(title.as_bytes().to_vec(), StringFormat::Literal),
        });
        doc.trailer.set("Info", info_id);
    }
    doc.compress();
    doc.save(path).map_err(std::io::Error::other)?;
    Ok(())
}

/// Files `kids` under the page tree `pages_id` and makes that tree the document's catalog.
fn set_pages(doc: &mut Document, pages_id: lopdf::ObjectId, kids: Vec<Object>) {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
}

/// WinAnsi bytes for a line, with the ligatures mapped to the font's codes 1 and 2.
fn encode(line: &str) -> Vec<u8> {
    line.chars()
        .map(|c| match c {
            '\u{FB01}' => 1,
            '\u{FB02}' => 2,
            c if (c as u32) < 256 => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Words in the tiny model's vocabulary, besides single letters and digits.
const TINY_WORDS: [&str; 40] = [
    "the",
    "of",
    "and",
    "in",
    "a",
    "to",
    "was",
    "with",
    "patients",
    "blood",
    "heart",
    "rate",
    "kidney",
    "liver",
    "pressure",
    "sepsis",
    "cancer",
    "risk",
    "trial",
    "dose",
    "therapy",
    "insulin",
    "glucose",
    "infection",
    "fever",
    "lung",
    "brain",
    "study",
    "effect",
    "treatment",
    "about",
    "text",
    "long",
    "much",
    "for",
    "is",
    "on",
    "by",
    "children",
    "mortality",
];

/// Writes a tiny random-weight BERT (2 layers, 32 dimensions) in the Hugging Face /
/// sentence-transformers layout into `dir`. Deterministic: the same call writes the same bytes.
pub fn write_tiny_model(dir: &Path, pooling: Pooling) -> std::io::Result<()> {
    let (hidden, layers, heads, inter, max_pos) = (32usize, 2usize, 2usize, 64usize, 512usize);
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let singles: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    vocab.extend(singles.iter().map(|c| c.to_string()));
    vocab.extend(singles.iter().map(|c| format!("##{c}")));
    vocab.extend(".,;:()-/%<>=+'\"[]".chars().map(|c| c.to_string()));
    vocab.extend(TINY_WORDS.iter().map(|s| s.to_string()));
    let vocab_map: HashMap<&str, usize> = vocab
        .iter()
        .enumerate()
        .map(|(i, w)| (w.as_str(), i))
        .collect();

    std::fs::create_dir_all(dir.join("1_Pooling"))?;
    let config = serde_json::json!({
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": vocab.len(), "hidden_size": hidden, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": inter, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": max_pos, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
    });
    std::fs::write(dir.join("config.json"), config.to_string())?;
    let added: Vec<serde_json::Value> = vocab[..5]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false,
                               "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let tokenizer = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab_map},
    });
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string())?;
    let pooling_cfg = serde_json::json!({
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": pooling == Pooling::Cls,
        "pooling_mode_mean_tokens": pooling == Pooling::Mean,
        "pooling_mode_max_tokens": false,
        "pooling_mode_mean_sqrt_len_tokens": false,
    });
    std::fs::write(dir.join("1_Pooling/config.json"), pooling_cfg.to_string())?;
    let modules = serde_json::json!([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]);
    std::fs::write(dir.join("modules.json"), modules.to_string())?;
    std::fs::write(
        dir.join("sentence_bert_config.json"),
        r#"{"max_seq_length": 256, "do_lower_case": false}"#,
    )?;

    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    let mut random = |name: String, shape: &[usize], tensors: &mut HashMap<String, Tensor>| {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                // xorshift64*: deterministic weights in [-0.1, 0.1).
                rng ^= rng >> 12;
                rng ^= rng << 25;
                rng ^= rng >> 27;
                let x = rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
                (x as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
            })
            .collect();
        tensors.insert(
            name,
            Tensor::from_vec(values, shape, &Device::Cpu).expect("shape matches"),
        );
    };
    let norm = |name: &str, tensors: &mut HashMap<String, Tensor>| {
        tensors.insert(
            format!("{name}.weight"),
            Tensor::ones(hidden, candle_core::DType::F32, &Device::Cpu).expect("ones"),
        );
        tensors.insert(
            format!("{name}.bias"),
            Tensor::zeros(hidden, candle_core::DType::F32, &Device::Cpu).expect("zeros"),
        );
    };
    random(
        "embeddings.word_embeddings.weight".into(),
        &[vocab.len(), hidden],
        &mut tensors,
    );
    random(
        "embeddings.position_embeddings.weight".into(),
        &[max_pos, hidden],
        &mut tensors,
    );
    random(
        "embeddings.token_type_embeddings.weight".into(),
        &[2, hidden],
        &mut tensors,
    );
    norm("embeddings.LayerNorm", &mut tensors);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for part in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            random(
                format!("{p}.{part}.weight"),
                &[hidden, hidden],
                &mut tensors,
            );
            random(format!("{p}.{part}.bias"), &[hidden], &mut tensors);
        }
        norm(&format!("{p}.attention.output.LayerNorm"), &mut tensors);
        random(
            format!("{p}.intermediate.dense.weight"),
            &[inter, hidden],
            &mut tensors,
        );
        random(
            format!("{p}.intermediate.dense.bias"),
            &[inter],
            &mut tensors,
        );
        random(
            format!("{p}.output.dense.weight"),
            &[hidden, inter],
            &mut tensors,
        );
        random(format!("{p}.output.dense.bias"), &[hidden], &mut tensors);
        norm(&format!("{p}.output.LayerNorm"), &mut tensors);
    }
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))
        .map_err(std::io::Error::other)?;
    Ok(())
}

/// Writes a one-page PDF whose content stream inflates to `inflated` bytes of zeros: a
/// decompression bomb of a few kilobytes, for testing the reader's memory limit.
pub fn write_bomb_pdf(path: &Path, inflated: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![0u8; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(block.len());
        encoder.write_all(&block[..n])?;
        left -= n;
    }
    let compressed = encoder.finish()?;
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let content_id = doc.add_object(Stream::new(
        dictionary! { "Filter" => "FlateDecode" },
        compressed,
    ));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
    });
    set_pages(&mut doc, pages_id, vec![page_id.into()]);
    doc.save(path).map_err(std::io::Error::other)?;
    Ok(())
}
