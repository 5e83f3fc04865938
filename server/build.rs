//! `sqlx::migrate!` embeds the migration files when the server compiles, and Cargo does not
//! know it reads them: without this, a migration added or edited after a build is left out of
//! the next one until some Rust source changes.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
