//! `sqlx::migrate!` embeds the migration folders at compile time; rebuild when they change
//! (a new migration file otherwise goes unnoticed by an incremental build).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
