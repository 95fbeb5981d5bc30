//! Development helper: `cargo run -p kuzet-classifier --example eval_corpus -- DIR [-v]`
//! classifies `DIR/pages/<id>.html` for every row of `DIR/labels.csv` and prints mistakes,
//! precision, recall and F1 (the CLI's `kuzet eval pages` does the same for users).

use kuzet_classifier::{Classifier, Label, eval};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "../shared/corpus/pages-dev".into());
    let verbose = args.next().is_some();
    let classifier = Classifier::default_rules()?;
    let labels = eval::parse_labels(&std::fs::read_to_string(format!("{dir}/labels.csv"))?)?;
    let mut pairs = Vec::new();
    for row in &labels {
        let bytes = std::fs::read(format!("{dir}/pages/{}.html", row.id))?;
        let v = classifier.classify_html(&bytes, None)?;
        let truth = row.label == "shop";
        let pred = v.verdict == Label::Shop;
        pairs.push((truth, pred));
        if verbose || truth != pred {
            println!(
                "{} {} score={:.3} {:?}",
                row.id, row.label, v.score, v.verdict
            );
            for r in &v.reasons {
                println!(
                    "    {:+.2} {:<32} {}",
                    r.weight,
                    r.rule,
                    r.evidence.chars().take(90).collect::<String>()
                );
            }
        }
    }
    let e = eval::evaluate(pairs);
    println!("{e:?}");
    Ok(())
}
