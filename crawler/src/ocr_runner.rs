//! The OCR engine in a separate process: `tesseract stdin stdout …`, the image on its standard
//! input, the text on its standard output, no temporary files.
//!
//! Each run is bounded: a wall-clock timeout after which the process is killed, an address-space
//! limit (`ulimit -v` in `sh -c`, which then `exec`s the engine, so the limit applies to the
//! engine alone), one OpenMP thread (`OMP_THREAD_LIMIT=1`), and a cap on the output read. A
//! hostile image can make one run fail; it cannot take kuzet down.
//!
//! Whether the engine is installed is checked once per [`OcrRunner`] (`tesseract --version`);
//! when it is missing, [`OcrRunner::available`] says so once in the log and every run returns
//! [`RunError::Missing`] at once, so callers carry on without OCR.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use kuzet_classifier::ocr::{self, Job, OcrError, OcrOptions, OcrResult, Session};
use wait_timeout::ChildExt;

/// How the engine is run, with documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// The engine command. Default `tesseract` (looked up in `PATH`).
    pub command: PathBuf,
    /// Wall-clock limit of one run; the process is killed after it. Default 20 s.
    pub timeout: Duration,
    /// Address-space limit of one run in bytes (`ulimit -v`). Default 1 GiB.
    pub memory_limit_bytes: u64,
    /// Most bytes of standard output read from one run. Default 1 MiB.
    pub max_output_bytes: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            command: PathBuf::from("tesseract"),
            timeout: Duration::from_secs(20),
            memory_limit_bytes: 1 << 30,
            max_output_bytes: 1 << 20,
        }
    }
}

/// Why one engine run gave no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The engine is not installed (or not runnable): OCR is off.
    #[error("OCR is off: `{command}` cannot be run ({reason})")]
    Missing {
        /// The command tried.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// The run took longer than the timeout and was killed.
    #[error("`{command}` took longer than {timeout_ms} ms and was killed")]
    Timeout {
        /// The command.
        command: String,
        /// The limit.
        timeout_ms: u128,
    },
    /// The engine exited unsuccessfully (or was killed by a signal, e.g. over the memory limit).
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Exit status as text.
        status: String,
        /// The end of its standard error.
        stderr: String,
    },
    /// It wrote more than `max_output_bytes`.
    #[error("`{command}` wrote more than {max} bytes")]
    OutputTooLarge {
        /// The command.
        command: String,
        /// The limit.
        max: usize,
    },
    /// Talking to the process failed.
    #[error("I/O with `{command}`: {reason}")]
    Io {
        /// The command.
        command: String,
        /// The error.
        reason: String,
    },
}

/// Why an image could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcrRunError {
    /// The image itself is refused (format, limits, damage).
    #[error(transparent)]
    Image(#[from] OcrError),
    /// The engine is not installed: OCR is off.
    #[error(transparent)]
    Engine(#[from] RunError),
}

/// Runs OCR jobs in child processes. Cheap to share (`Sync`); the installation check is made
/// once, on first use.
#[derive(Debug)]
pub struct OcrRunner {
    config: RunnerConfig,
    version: OnceLock<Result<String, RunError>>,
}

impl OcrRunner {
    /// A runner with `config`. Nothing is run yet.
    pub fn new(config: RunnerConfig) -> OcrRunner {
        OcrRunner {
            config,
            version: OnceLock::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    fn command_name(&self) -> String {
        self.config.command.display().to_string()
    }

    /// The engine's version line, or why it cannot be run. Checked once; the first failure is
    /// logged once as a warning ("OCR is off").
    pub fn available(&self) -> Result<&str, &RunError> {
        self.version
            .get_or_init(|| {
                let r = self.probe();
                if let Err(RunError::Missing { command, reason }) = &r {
                    tracing::warn!(%command, %reason, "ocr engine missing, ocr off");
                }
                r
            })
            .as_deref()
    }

    fn probe(&self) -> Result<String, RunError> {
        let missing = |reason: String| RunError::Missing {
            command: self.command_name(),
            reason,
        };
        let out = Command::new(&self.config.command)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| missing(e.to_string()))?;
        if !out.status.success() {
            return Err(missing(format!("`--version` exited with {}", out.status)));
        }
        // Tesseract 4 printed its version on stderr, 5 on stdout.
        let text = if out.stdout.is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string())
    }

    /// Runs one job: `sh -c 'ulimit -v KB && exec "$0" "$@"' tesseract stdin stdout ARGS`, the
    /// image on standard input. Returns standard output as text (lossy UTF-8).
    ///
    /// # Errors
    /// [`RunError`]: missing engine, timeout, failure, too much output.
    pub fn run(&self, job: &Job) -> Result<String, RunError> {
        if let Err(e) = self.available() {
            return Err(e.clone());
        }
        let cmd = self.command_name();
        let io = |e: std::io::Error| RunError::Io {
            command: cmd.clone(),
            reason: e.to_string(),
        };
        let kb = (self.config.memory_limit_bytes / 1024).max(1);
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\""))
            .arg(&self.config.command)
            .args(["stdin", "stdout"])
            .args(job.args())
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io)?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RunError::Io {
                command: cmd,
                reason: "no pipes to the child".into(),
            });
        };
        let image = job.image.clone();
        // The engine may exit (or die) before reading all input: a broken pipe is not our error.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&image);
        });
        let max = self.config.max_output_bytes;
        let out_reader = std::thread::spawn(move || read_capped(stdout, max));
        let err_reader = std::thread::spawn(move || read_capped(stderr, 16 << 10));
        let status = match child.wait_timeout(self.config.timeout).map_err(io)? {
            Some(s) => s,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = writer.join();
                let _ = out_reader.join();
                let _ = err_reader.join();
                return Err(RunError::Timeout {
                    command: cmd,
                    timeout_ms: self.config.timeout.as_millis(),
                });
            }
        };
        let _ = writer.join();
        let (out, out_over) = out_reader.join().unwrap_or_default();
        let (err, _) = err_reader.join().unwrap_or_default();
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let tail: String = err
                .lines()
                .rev()
                .take(3)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" / ");
            return Err(RunError::Failed {
                command: cmd,
                status: status.to_string(),
                stderr: tail,
            });
        }
        if out_over {
            return Err(RunError::OutputTooLarge { command: cmd, max });
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Reads one image with the full pipeline: detection, preparation, the passes the
    /// [`Session`] asks for, repair and choice. Engine failures in single passes are recorded in
    /// [`OcrResult::pass_errors`]; a text-free image runs no engine at all.
    ///
    /// # Errors
    /// [`OcrRunError::Image`] for a refused image, [`OcrRunError::Engine`] when the engine is
    /// not installed (checked before any work).
    pub fn ocr(&self, bytes: &[u8], opts: &OcrOptions) -> Result<OcrResult, OcrRunError> {
        if let Err(e) = self.available() {
            return Err(OcrRunError::Engine(e.clone()));
        }
        let mut session = Session::start(bytes, opts)?;
        while let Some(job) = session.next_job() {
            session.feed(self.run(&job).map_err(|e| e.to_string()));
        }
        Ok(session.finish())
    }

    /// The baseline: the whole image with `-l LANGUAGES` and automatic layout, plain text out
    /// (limits checked first).
    ///
    /// # Errors
    /// As [`OcrRunner::ocr`], plus a failed run.
    pub fn plain(&self, bytes: &[u8], opts: &OcrOptions) -> Result<String, OcrRunError> {
        if let Err(e) = self.available() {
            return Err(OcrRunError::Engine(e.clone()));
        }
        ocr::check_image(bytes, &opts.limits)?;
        Ok(self.run(&ocr::plain_job(bytes, &opts.languages))?)
    }
}

/// Reads everything, keeping at most `max` bytes; the flag says whether more came.
fn read_capped(mut r: impl Read, max: usize) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 << 10];
    let mut over = false;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                over |= n > room;
            }
        }
    }
    (kept, over)
}
