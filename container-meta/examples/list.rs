//! Prints the running containers of this host as their capture records.
fn main() {
    let l = container_meta::Host::system().running();
    for c in &l.containers {
        println!("{}", c.to_json());
    }
    for p in &l.problems {
        eprintln!("problem: {p}");
    }
}
