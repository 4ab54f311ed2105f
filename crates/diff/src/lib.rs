//! ferrocd-diff: normalization, ignoreDifferences and structured diff.
#![deny(missing_docs)]
