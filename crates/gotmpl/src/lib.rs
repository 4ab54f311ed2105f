//! ferrocd-gotmpl: Go text/template language.
#![deny(missing_docs)]
