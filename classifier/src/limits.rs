//! Explicit limits that keep hostile input from costing unbounded time or memory.

/// Limits applied by the classifier. Over-limit input yields [`crate::Error`], never a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest raw input (HTML or text bytes) accepted. Default: 8 MiB.
    pub max_input_bytes: usize,
    /// Longest visible text considered for rules; text beyond it is ignored (not an error).
    /// Default: 2 MiB.
    pub max_text_bytes: usize,
    /// Most links and images kept by [`crate::html::extract_with_limits`]. Default: 5,000 each.
    pub max_links: usize,
    /// Most indicators reported for one input. Default: 500.
    pub max_indicators: usize,
    /// Most reasons (fired rules) reported per verdict. Default: 200.
    pub max_reasons: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 8 << 20,
            max_text_bytes: 2 << 20,
            max_links: 5_000,
            max_indicators: 500,
            max_reasons: 200,
        }
    }
}
