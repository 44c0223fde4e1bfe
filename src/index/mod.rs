//! The two derived indexes of a library: keywords (tantivy) and vectors (usearch). Both are kept
//! in step with the catalog by the library, and both can be rebuilt from it.

pub mod analysis;
pub mod lexical;
mod maxscore;
pub mod rare_terms;
mod read_only;
pub mod segments;
pub mod vector;

pub use lexical::LexicalIndex;
pub use vector::VectorIndex;
