//! Test support (feature `test-util`): a smart-HTTP Git server and fixture repositories.
//!
//! These helpers are for tests: they panic with a clear message when the environment
//! lacks what they need (`git`, `git-http-backend`), rather than returning errors.

mod fixture;
mod http_server;

pub use fixture::{fixture_script, git, make_fixture, rev_parse, try_make_fixture};
pub use http_server::{GitHttpServer, RequestRecord};
