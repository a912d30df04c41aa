//! ONNX models through ONNX Runtime (`ort`, loaded at run time).
//!
//! A model trained in Python (LightGBM through onnxmltools, scikit-learn through skl2onnx) and
//! exported as ONNX scores here as it does in Python's `onnxruntime`: one float32 input `[N, F]`
//! (or double, as recoup's own exports take), and the probability output either a float or double
//! tensor `[N, 2]` / `[N, 1]` (`zipmap=False`) or the converters' default ZipMap, a sequence of
//! one map (class label to probability) per row.
//!
//! The ONNX Runtime shared library is not linked: it is loaded once per process from
//! [`onnxruntime_library`], for example the one the `onnxruntime` wheel ships in `.venv`.

use std::collections::BTreeMap;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::{DynMapValueType, DynValue, Outlet, TensorElementType, TensorRef, ValueType};
use rayon::prelude::*;

/// Rows per ONNX Runtime call.
const BLOCK_ROWS: usize = 4096;

/// Why an ONNX model could not be loaded or scored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// No ONNX Runtime shared library at `$ORT_DYLIB_PATH` or in a `.venv` above the current
    /// directory or the executable.
    #[error(
        "ONNX Runtime's shared library was not found (looked for {}); run `scripts/python-env` \
         (installs the onnxruntime wheel into .venv) or set ORT_DYLIB_PATH to the library file \
         (libonnxruntime.so*)",
        join_paths(searched)
    )]
    RuntimeNotFound { searched: Vec<PathBuf> },
    /// The library was found but ONNX Runtime could not be started from it.
    #[error("cannot start ONNX Runtime from {}: {message}", library.display())]
    Runtime { library: PathBuf, message: String },
    /// The model file cannot be read, is not an ONNX model, or has inputs or outputs recoup
    /// cannot score.
    #[error("cannot load ONNX model {}: {message}", file.display())]
    Load { file: PathBuf, message: String },
    /// The rows or the output buffer do not fit the model.
    #[error("ONNX model {}: {message}", file.display())]
    Shape { file: PathBuf, message: String },
    /// ONNX Runtime failed while scoring, or returned something other than probabilities.
    #[error("ONNX model {} failed to score: {message}", file.display())]
    Run { file: PathBuf, message: String },
}

fn join_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// Where the ONNX Runtime shared library is: `$ORT_DYLIB_PATH` if set, else the first
/// `.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*` in the current
/// directory or one of its ancestors, then in the executable's directory or its ancestors.
pub fn onnxruntime_library() -> Result<PathBuf, OnnxError> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(OnnxError::RuntimeNotFound {
                searched: vec![path],
            })
        };
    }
    let mut starts = Vec::new();
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        starts.push(dir);
    }
    let mut seen = HashSet::new();
    let mut searched = Vec::new();
    for start in &starts {
        for dir in start.ancestors() {
            if !seen.insert(dir.to_path_buf()) {
                continue;
            }
            let venv_lib = dir.join(".venv").join("lib");
            if let Some(found) = library_in_venv(&venv_lib) {
                return Ok(found);
            }
            searched
                .push(venv_lib.join("python3*/site-packages/onnxruntime/capi/libonnxruntime.so*"));
        }
    }
    Err(OnnxError::RuntimeNotFound { searched })
}

fn library_in_venv(venv_lib: &Path) -> Option<PathBuf> {
    let mut pythons = sorted_entries(venv_lib, |name| name.starts_with("python3"));
    // The newest Python first, when a venv was upgraded in place.
    pythons.reverse();
    pythons.into_iter().find_map(|python| {
        let capi = python.join("site-packages/onnxruntime/capi");
        sorted_entries(&capi, |name| name.starts_with("libonnxruntime.so"))
            .into_iter()
            .find(|p| p.is_file())
    })
}

fn sorted_entries(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(&keep))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// The process's ONNX Runtime environment (ONNX Runtime allows one), created at first use.
fn environment() -> Result<&'static Environment, OnnxError> {
    static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
    static STARTING: Mutex<()> = Mutex::new(());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    // A failed start is not cached: the next load may find the library (ORT_DYLIB_PATH set).
    let _starting = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let library = onnxruntime_library()?;
    let runtime_error = |message: String| OnnxError::Runtime {
        library: library.clone(),
        message,
    };
    let env = ort::init_from(&library)
        .map_err(|e| runtime_error(e.to_string()))?
        .with_name("recoup")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_error(e.to_string()))?;
    tracing::debug!(library = %library.display(), "ONNX Runtime loaded");
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// The element type of the input or of a probability tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Float32,
    Float64,
}

impl Precision {
    fn of(ty: TensorElementType) -> Option<Self> {
        match ty {
            TensorElementType::Float32 => Some(Self::Float32),
            TensorElementType::Float64 => Some(Self::Float64),
            _ => None,
        }
    }
}

/// How the probability output is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probabilities {
    /// A float or double tensor `[N, 2]` (the positive class is column 1) or `[N, 1]`.
    Tensor(Precision),
    /// A ZipMap with int64 class labels: one map per row.
    MapInt64,
    /// A ZipMap with string class labels: one map per row.
    MapString,
}

impl Probabilities {
    fn of(dtype: &ValueType) -> Option<Self> {
        match dtype {
            ValueType::Tensor { ty, shape, .. }
                if shape.len() == 2 && matches!(shape[1], -1 | 1 | 2) =>
            {
                Precision::of(*ty).map(Self::Tensor)
            }
            ValueType::Sequence(element) => match element.as_ref() {
                ValueType::Map {
                    key: TensorElementType::Int64,
                    value: TensorElementType::Float32,
                } => Some(Self::MapInt64),
                ValueType::Map {
                    key: TensorElementType::String,
                    value: TensorElementType::Float32,
                } => Some(Self::MapString),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A session and what it needs per call; used by one thread at a time.
struct Worker {
    session: Session,
    options: RunOptions<HasSelectedOutputs>,
    input: Vec<f32>,
}

/// A binary classifier in ONNX format, scored with ONNX Runtime.
///
/// `Send + Sync`: ONNX Runtime sessions are not safe to run concurrently, so the model keeps a
/// pool of them (one intra-op thread each) and each rayon worker scoring a block of rows checks
/// one out; the pool grows to the number of threads that score at once.
pub struct OnnxModel {
    file: PathBuf,
    bytes: Vec<u8>,
    env: &'static Environment,
    input: String,
    input_precision: Precision,
    n_features: Option<usize>,
    output: String,
    probabilities: Probabilities,
    metadata: BTreeMap<String, String>,
    idle: Mutex<Vec<Worker>>,
}

impl fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnnxModel")
            .field("file", &self.file)
            .field("input", &self.input)
            .field("input_precision", &self.input_precision)
            .field("n_features", &self.n_features)
            .field("output", &self.output)
            .field("probabilities", &self.probabilities)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

fn new_session(env: &Environment, bytes: &[u8]) -> Result<Session, String> {
    let text = |e: ort::Error<_>| e.to_string();
    let mut builder = Session::builder(env)
        .map_err(|e| e.to_string())?
        .with_intra_threads(1)
        .map_err(text)?
        .with_inter_threads(1)
        .map_err(text)?
        .with_parallel_execution(false)
        .map_err(text)?;
    builder.commit_from_memory(bytes).map_err(|e| e.to_string())
}

fn describe(outlets: &[Outlet]) -> String {
    let shown: Vec<String> = outlets
        .iter()
        .map(|o| format!("`{}` {}", o.name(), o.dtype()))
        .collect();
    shown.join(", ")
}

/// The output that holds the class probabilities: the only candidate, or the only candidate
/// whose name mentions "prob".
fn probability_output(outputs: &[Outlet]) -> Result<(String, Probabilities), String> {
    let candidates: Vec<(&str, Probabilities)> = outputs
        .iter()
        .filter_map(|o| Probabilities::of(o.dtype()).map(|p| (o.name(), p)))
        .collect();
    let named: Vec<(&str, Probabilities)> = candidates
        .iter()
        .filter(|(name, _)| name.to_ascii_lowercase().contains("prob"))
        .copied()
        .collect();
    let chosen = match (candidates.as_slice(), named.as_slice()) {
        ([only], _) | (_, [only]) => *only,
        ([], _) => {
            return Err(format!(
                "no output holds binary class probabilities (a float or double tensor [N, 2] or \
                 [N, 1], or a ZipMap sequence of maps from int64 or string labels to float); \
                 outputs: {}",
                describe(outputs)
            ));
        }
        _ => {
            return Err(format!(
                "several outputs could hold the probabilities: {}",
                describe(outputs)
            ));
        }
    };
    Ok((chosen.0.to_string(), chosen.1))
}

impl OnnxModel {
    /// Loads a model file, starting ONNX Runtime if this is the process's first model.
    pub fn load(path: &Path) -> Result<Self, OnnxError> {
        let bytes = std::fs::read(path).map_err(|e| OnnxError::Load {
            file: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::from_bytes(bytes, path)
    }

    /// Loads a model from its file's bytes; `path` names it in errors.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Self, OnnxError> {
        let load_error = |message: String| OnnxError::Load {
            file: path.to_path_buf(),
            message,
        };
        let env = environment()?;
        let session = new_session(env, &bytes).map_err(load_error)?;
        let [input] = session.inputs() else {
            return Err(load_error(format!(
                "expected one input (a float tensor [N, F]), found {}: {}",
                session.inputs().len(),
                describe(session.inputs())
            )));
        };
        let (input_precision, n_features) = match input.dtype() {
            ValueType::Tensor { ty, shape, .. }
                if shape.len() == 2 && shape[0] == -1 && Precision::of(*ty).is_some() =>
            {
                (
                    Precision::of(*ty).unwrap_or(Precision::Float32),
                    usize::try_from(shape[1]).ok(),
                )
            }
            other => {
                return Err(load_error(format!(
                    "input `{}` is {other}; expected a float or double tensor [N, F] with a \
                     dynamic row count (for example FloatTensorType([None, F]) in the converter)",
                    input.name()
                )));
            }
        };
        let (output, probabilities) = probability_output(session.outputs()).map_err(load_error)?;
        let meta = session
            .metadata()
            .map_err(|e| load_error(format!("cannot read the metadata: {e}")))?;
        let keys = meta
            .custom_keys()
            .map_err(|e| load_error(format!("cannot read the metadata: {e}")))?;
        let metadata = keys
            .into_iter()
            .filter_map(|k| meta.custom(&k).map(|v| (k, v)))
            .collect();
        drop(meta);
        let model = Self {
            file: path.to_path_buf(),
            input: input.name().to_string(),
            input_precision,
            n_features,
            output,
            probabilities,
            metadata,
            bytes,
            env,
            idle: Mutex::new(Vec::new()),
        };
        let worker = model.worker_from(session)?;
        model.check_in(worker);
        tracing::debug!(model = ?model, "ONNX model loaded");
        Ok(model)
    }

    /// The number of features, if the model's input declares it.
    pub fn n_features(&self) -> Option<usize> {
        self.n_features
    }

    /// The name of the model's input.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// Metadata props of the model (e.g. feature names a exporter put there), key -> value.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Probability of the positive class for row-major rows of `n_features` values each (NaN is
    /// missing), written to `out` (one per row). The positive class is the second column of a
    /// probability tensor `[N, 2]` (the only one of `[N, 1]`), or in a ZipMap the larger of the
    /// two class labels, as scikit-learn's `classes_[1]`. Values are converted to float32 when
    /// the model's input is float (recoup's exports take double, unconverted). Blocks of rows are scored in parallel on the current rayon
    /// pool; the result does not depend on the number of threads.
    pub fn predict_proba(
        &self,
        rows: &[f64],
        n_features: usize,
        out: &mut [f64],
    ) -> Result<(), OnnxError> {
        self.check_shape(rows.len(), n_features, out.len())?;
        rows.par_chunks(BLOCK_ROWS * n_features)
            .zip(out.par_chunks_mut(BLOCK_ROWS))
            .try_for_each(|(block, out)| {
                let mut worker = self.check_out()?;
                let scored = self.score(&mut worker, block, n_features, out);
                self.check_in(worker);
                scored
            })
    }

    fn check_shape(&self, values: usize, n_features: usize, out: usize) -> Result<(), OnnxError> {
        let problem = if let Some(expected) = self.n_features.filter(|&f| f != n_features) {
            format!("rows have {n_features} features, the model's input takes {expected}")
        } else if n_features == 0 {
            "rows have 0 features".to_string()
        } else if !values.is_multiple_of(n_features) {
            format!("{values} values are not whole rows of {n_features} features")
        } else if values / n_features != out {
            format!(
                "{} rows but room for {out} probabilities",
                values / n_features
            )
        } else {
            return Ok(());
        };
        Err(OnnxError::Shape {
            file: self.file.clone(),
            message: problem,
        })
    }

    fn worker_from(&self, session: Session) -> Result<Worker, OnnxError> {
        let options = RunOptions::new()
            .map_err(|e| self.run_error(e.to_string()))?
            .with_outputs(OutputSelector::no_default().with(self.output.as_str()));
        Ok(Worker {
            session,
            options,
            input: match self.input_precision {
                Precision::Float32 => Vec::with_capacity(BLOCK_ROWS * self.n_features.unwrap_or(1)),
                Precision::Float64 => Vec::new(),
            },
        })
    }

    fn check_out(&self) -> Result<Worker, OnnxError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(worker) = idle {
            return Ok(worker);
        }
        let session = new_session(self.env, &self.bytes).map_err(|e| self.run_error(e))?;
        self.worker_from(session)
    }

    fn check_in(&self, worker: Worker) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(worker);
    }

    fn run_error(&self, message: String) -> OnnxError {
        OnnxError::Run {
            file: self.file.clone(),
            message,
        }
    }

    fn score(
        &self,
        worker: &mut Worker,
        block: &[f64],
        n_features: usize,
        out: &mut [f64],
    ) -> Result<(), OnnxError> {
        let err = |e: ort::Error| self.run_error(e.to_string());
        let shape = [out.len(), n_features];
        let outputs = match self.input_precision {
            Precision::Float64 => {
                let tensor = TensorRef::from_array_view((shape, block)).map_err(err)?;
                worker
                    .session
                    .run_with_options(ort::inputs![tensor], &worker.options)
                    .map_err(err)?
            }
            Precision::Float32 => {
                worker.input.clear();
                worker.input.extend(block.iter().map(|&v| v as f32));
                let tensor =
                    TensorRef::from_array_view((shape, worker.input.as_slice())).map_err(err)?;
                worker
                    .session
                    .run_with_options(ort::inputs![tensor], &worker.options)
                    .map_err(err)?
            }
        };
        let value = outputs
            .get(&self.output)
            .ok_or_else(|| self.run_error(format!("output `{}` is missing", self.output)))?;
        match self.probabilities {
            Probabilities::Tensor(Precision::Float32) => self.read_tensor::<f32>(value, out),
            Probabilities::Tensor(Precision::Float64) => self.read_tensor::<f64>(value, out),
            Probabilities::MapInt64 => self.read_maps::<i64>(value, out),
            Probabilities::MapString => self.read_maps::<String>(value, out),
        }
    }

    fn read_tensor<T>(&self, value: &DynValue, out: &mut [f64]) -> Result<(), OnnxError>
    where
        T: ort::value::PrimitiveTensorElementType + Copy + Into<f64> + fmt::Debug,
    {
        let (shape, data) = value
            .try_extract_tensor::<T>()
            .map_err(|e| self.run_error(e.to_string()))?;
        let columns = match **shape {
            [n, c @ (1 | 2)] if usize::try_from(n).ok() == Some(out.len()) => c as usize,
            _ => {
                return Err(self.run_error(format!(
                    "output `{}` has shape {shape:?} for {} rows; expected [{}, 2] or [{}, 1] \
                     (a binary classifier)",
                    self.output,
                    out.len(),
                    out.len(),
                    out.len()
                )));
            }
        };
        for (o, row) in out.iter_mut().zip(data.chunks_exact(columns)) {
            *o = row[columns - 1].into();
        }
        Ok(())
    }

    fn read_maps<K>(&self, value: &DynValue, out: &mut [f64]) -> Result<(), OnnxError>
    where
        K: ort::value::IntoTensorElementType + Clone + std::hash::Hash + Eq + Ord + fmt::Debug,
    {
        let maps = value
            .try_extract_sequence::<DynMapValueType>()
            .map_err(|e| self.run_error(e.to_string()))?;
        if maps.len() != out.len() {
            return Err(self.run_error(format!(
                "output `{}` has {} maps for {} rows",
                self.output,
                maps.len(),
                out.len()
            )));
        }
        for (row, (o, map)) in out.iter_mut().zip(&maps).enumerate() {
            let mut classes = map
                .try_extract_key_values::<K, f32>()
                .map_err(|e| self.run_error(e.to_string()))?;
            if classes.len() != 2 {
                let labels: Vec<&K> = classes.iter().map(|(k, _)| k).collect();
                return Err(self.run_error(format!(
                    "output `{}` row {row} has the classes {labels:?}; expected two (a binary \
                     classifier)",
                    self.output
                )));
            }
            classes.sort_by(|a, b| a.0.cmp(&b.0));
            *o = f64::from(classes[1].1);
        }
        Ok(())
    }
}
