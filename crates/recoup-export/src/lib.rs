//! recoup's models as standard ONNX, so that ONNX Runtime in any language returns the
//! probabilities recoup's own scorer returns.
//!
//! The graph reads one `double` tensor `features` `[N, F]`, the model's features in the order of
//! its schema (NaN is a missing value; a categorical column is its level's index in the schema's
//! `categories`, unknown levels NaN), and writes
//! - `probabilities` `double [N, 2]`: the calibrated probability of class 0 and class 1;
//! - `label` `int64 [N]`: 1 when the probability of class 1 is at least 0.5;
//! - `raw_score` `double [N, 1]`: the uncalibrated score (log-odds) before calibration.
//!
//! Trees become one `ai.onnx.ml` `TreeEnsemble` (opset 5): `BRANCH_LEQ` splits with the native
//! thresholds and, per split, the native missing-value direction; a tree that is a single leaf
//! becomes one split whose two branches reach the same leaf. A scorecard's binning becomes a
//! `TreeEnsemble` with one target per feature (its weight of evidence), followed by
//! `MatMul`/`Add` with the coefficients and the intercept. Calibration is plain operators:
//! `Sigmoid` (none), `Mul`/`Add`/`Sigmoid` (Platt), or the isotonic map as a sum of clamped
//! segments (`Min`/`Max`/`Sub`/`Mul`/`ReduceSum`). Everything is in double precision: thresholds
//! compare exactly as in the native evaluator, and only the order of the additions differs.
//!
//! The metadata props carry the recoup version, the model kind and target, the schema (JSON,
//! with dtypes and categories) and its hash, the training fingerprint and the native body's
//! BLAKE3, so a loader can tie the file back to the model it came from.

use std::path::{Path, PathBuf};

use prost::Message;
use recoup_model::{Calibration, ModelError, ModelFile, NodeRef, Scorecard, Scorer, TreeEnsemble};

pub mod proto;

use proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto,
    TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
    tensor_shape_proto, type_proto,
};

/// ONNX IR version of the files (ONNX 1.16 and later).
pub const IR_VERSION: i64 = 10;
/// Opset of the default domain (`ai.onnx`).
pub const OPSET: i64 = 21;
/// Opset of `ai.onnx.ml`: version 5 has `TreeEnsemble`, with double thresholds and outputs
/// (ONNX Runtime 1.20 and later).
pub const ML_OPSET: i64 = 5;
pub const ML_DOMAIN: &str = "ai.onnx.ml";

/// The graph's input and output names.
pub const INPUT: &str = "features";
pub const PROBABILITIES: &str = "probabilities";
pub const LABEL: &str = "label";
pub const RAW_SCORE: &str = "raw_score";

/// Metadata keys a recoup export writes.
pub mod metadata {
    /// The feature names in input order, comma-separated.
    pub const FEATURE_NAMES: &str = "feature_names";
    pub const RECOUP_VERSION: &str = "recoup.version";
    pub const MODEL_KIND: &str = "recoup.model_kind";
    pub const TARGET: &str = "recoup.target";
    /// The model's feature schema as JSON: `[{"name", "dtype", "categories"?}, ...]`.
    pub const SCHEMA: &str = "recoup.schema";
    pub const SCHEMA_HASH: &str = "recoup.schema_hash";
    pub const TRAINING_FINGERPRINT: &str = "recoup.training_fingerprint";
    /// BLAKE3 of the native model file's body: which model this file was exported from.
    pub const BODY_BLAKE3: &str = "recoup.body_blake3";
    pub const CALIBRATION: &str = "recoup.calibration";
    pub const MODEL_FORMAT_VERSION: &str = "recoup.model_format_version";
}

/// Why a model could not be exported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model has something ONNX cannot express exactly.
    #[error("{model}: cannot export to ONNX: {reason}")]
    Unsupported { model: String, reason: String },
    #[error("{}: not an ONNX model: {reason}", file.display())]
    NotOnnx { file: PathBuf, reason: String },
}

/// What an ONNX file says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxInfo {
    pub bytes: usize,
    pub blake3: String,
    pub producer: String,
    /// `(domain, version)`, the default domain as `ai.onnx`.
    pub opsets: Vec<(String, i64)>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Reads an ONNX file's header: opsets, inputs, outputs and metadata props.
pub fn inspect(path: &Path) -> Result<OnnxInfo, ExportError> {
    let bytes = std::fs::read(path).map_err(|error| ModelError::Io {
        file: path.to_path_buf(),
        error,
    })?;
    let model = ModelProto::decode(bytes.as_slice()).map_err(|e| ExportError::NotOnnx {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let graph = model.graph.unwrap_or_default();
    Ok(OnnxInfo {
        bytes: bytes.len(),
        blake3: blake3::hash(&bytes).to_hex().to_string(),
        producer: format!("{} {}", model.producer_name, model.producer_version),
        opsets: model
            .opset_import
            .into_iter()
            .map(|o| {
                let domain = if o.domain.is_empty() {
                    "ai.onnx".to_owned()
                } else {
                    o.domain
                };
                (domain, o.version)
            })
            .collect(),
        inputs: graph.input.into_iter().map(|v| v.name).collect(),
        outputs: graph.output.into_iter().map(|v| v.name).collect(),
        metadata: model
            .metadata_props
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect(),
    })
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    pub file: PathBuf,
    pub bytes: usize,
    pub blake3: String,
    /// Operators in the graph, `domain:op` for `ai.onnx.ml`, sorted and distinct.
    pub operators: Vec<String>,
    pub tree_nodes: usize,
    pub tree_leaves: usize,
}

/// Exports the model file at `model` (a recoup model file) to `onnx`, written atomically.
pub fn export_file(model: &Path, onnx: &Path) -> Result<ExportSummary, ExportError> {
    let file = ModelFile::load(model)?;
    let built = build(&file, &model.display().to_string())?;
    let bytes = built.model.encode_to_vec();
    if let Some(dir) = onnx.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|error| ModelError::Io {
            file: dir.to_path_buf(),
            error,
        })?;
    }
    recoup_model::artifact::write_atomic(onnx, &bytes)?;
    Ok(ExportSummary {
        file: onnx.to_path_buf(),
        bytes: bytes.len(),
        blake3: blake3::hash(&bytes).to_hex().to_string(),
        operators: built.operators(),
        tree_nodes: built.tree_nodes,
        tree_leaves: built.tree_leaves,
    })
}

/// The ONNX bytes of a model; `name` identifies it in errors. The same model gives the same
/// bytes.
pub fn to_onnx(model: &ModelFile, name: &str) -> Result<Vec<u8>, ExportError> {
    Ok(build(model, name)?.model.encode_to_vec())
}

struct Built {
    model: ModelProto,
    tree_nodes: usize,
    tree_leaves: usize,
}

impl Built {
    fn operators(&self) -> Vec<String> {
        let mut ops: Vec<String> = self
            .model
            .graph
            .iter()
            .flat_map(|g| &g.node)
            .map(|n| {
                if n.domain.is_empty() {
                    n.op_type.clone()
                } else {
                    format!("{}:{}", n.domain, n.op_type)
                }
            })
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }
}

fn build(model: &ModelFile, name: &str) -> Result<Built, ExportError> {
    let unsupported = |reason: String| ExportError::Unsupported {
        model: name.to_owned(),
        reason,
    };
    let header = &model.header;
    let n_features = model.body.n_features();
    if n_features == 0 {
        return Err(unsupported("the model has no features".into()));
    }
    if let Some(c) = header.schema.columns.iter().find(|c| c.name.contains(',')) {
        return Err(unsupported(format!(
            "feature `{}` has a comma in its name, which the comma-separated `feature_names` \
             metadata cannot hold; rename the column",
            c.name
        )));
    }
    let mut graph = Graph::default();
    let ensemble = match &model.body.scorer {
        Scorer::Trees(trees) => {
            let ensemble = Ensemble::of_trees(trees);
            let sum = graph.tree_ensemble(&ensemble, 1, "tree_sum");
            let base = graph.constant_f64("base_score", &[1, 1], &[trees.base_score]);
            graph.node("Add", &[&sum, &base], RAW_SCORE, vec![]);
            ensemble
        }
        Scorer::Scorecard(card) => {
            let (ensemble, coefficients) = Ensemble::of_scorecard(card);
            let targets = coefficients.len();
            let woe = graph.tree_ensemble(&ensemble, targets, "woe");
            let coef = graph.constant_f64("coefficients", &[targets as i64, 1], &coefficients);
            let linear = graph.node("MatMul", &[&woe, &coef], "woe_sum", vec![]);
            let intercept = graph.constant_f64("intercept", &[1, 1], &[card.intercept]);
            graph.node("Add", &[&linear, &intercept], RAW_SCORE, vec![]);
            ensemble
        }
    };
    let p1 = graph.calibration(&model.body.calibration, RAW_SCORE);
    let one = graph.constant_f64("one", &[1, 1], &[1.0]);
    let p0 = graph.node("Sub", &[&one, &p1], "p_class0", vec![]);
    graph.node(
        "Concat",
        &[&p0, &p1],
        PROBABILITIES,
        vec![attr_int("axis", 1)],
    );
    let half = graph.constant_f64("half", &[1, 1], &[0.5]);
    let positive = graph.node("GreaterOrEqual", &[&p1, &half], "positive", vec![]);
    let as_int = graph.node(
        "Cast",
        &[&positive],
        "label_column",
        vec![attr_int("to", i64::from(data_type::INT64))],
    );
    let flat = graph.constant_i64("label_shape", &[1], &[-1]);
    graph.node("Reshape", &[&as_int, &flat], LABEL, vec![]);

    let rows = || tensor_shape_proto::dimension::Value::DimParam("N".into());
    let fixed = |n: i64| tensor_shape_proto::dimension::Value::DimValue(n);
    let g = GraphProto {
        node: graph.nodes,
        name: format!("recoup_{}", sanitize(&header.target)),
        initializer: graph.initializers,
        doc_string: format!(
            "recoup {:?} model of `{}`: input `{INPUT}` double [N, {n_features}] in the order of \
             the `feature_names` metadata (NaN = missing, a categorical column = its level's \
             index in `recoup.schema`); outputs `{PROBABILITIES}` [N, 2], `{LABEL}` [N], \
             `{RAW_SCORE}` [N, 1]",
            header.kind, header.target
        ),
        input: vec![value_info(
            INPUT,
            data_type::DOUBLE,
            vec![rows(), fixed(n_features as i64)],
        )],
        output: vec![
            value_info(LABEL, data_type::INT64, vec![rows()]),
            value_info(PROBABILITIES, data_type::DOUBLE, vec![rows(), fixed(2)]),
            value_info(RAW_SCORE, data_type::DOUBLE, vec![rows(), fixed(1)]),
        ],
    };
    let names: Vec<&str> = header
        .schema
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let schema_json = serde_json::to_string(&header.schema.columns).unwrap_or_default();
    let props = [
        (metadata::FEATURE_NAMES, names.join(",")),
        (metadata::RECOUP_VERSION, header.recoup_version.clone()),
        (
            metadata::MODEL_FORMAT_VERSION,
            header.format_version.to_string(),
        ),
        (
            metadata::MODEL_KIND,
            serde_json::to_value(header.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ),
        (metadata::TARGET, header.target.clone()),
        (metadata::SCHEMA, schema_json),
        (metadata::SCHEMA_HASH, header.schema.hash.clone()),
        (
            metadata::TRAINING_FINGERPRINT,
            header.training_fingerprint.clone(),
        ),
        (metadata::BODY_BLAKE3, model.body_blake3()),
        (
            metadata::CALIBRATION,
            model.body.calibration.name().to_owned(),
        ),
    ];
    let model_proto = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            },
            OperatorSetIdProto {
                domain: ML_DOMAIN.into(),
                version: ML_OPSET,
            },
        ],
        producer_name: "recoup".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "recoup".into(),
        model_version: 1,
        doc_string: String::new(),
        graph: Some(g),
        metadata_props: props
            .into_iter()
            .map(|(key, value)| StringStringEntryProto {
                key: key.into(),
                value,
            })
            .collect(),
    };
    Ok(Built {
        model: model_proto,
        tree_nodes: ensemble.featureids.len(),
        tree_leaves: ensemble.leaf_weights.len(),
    })
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The attributes of one `TreeEnsemble` (opset 5), nodes and leaves numbered from 0.
#[derive(Debug, Default)]
struct Ensemble {
    tree_roots: Vec<i64>,
    featureids: Vec<i64>,
    splits: Vec<f64>,
    missing_tracks_true: Vec<i64>,
    truenodeids: Vec<i64>,
    trueleafs: Vec<i64>,
    falsenodeids: Vec<i64>,
    falseleafs: Vec<i64>,
    leaf_targetids: Vec<i64>,
    leaf_weights: Vec<f64>,
}

/// A branch of a split: another split or a leaf, by its index in the ensemble.
#[derive(Clone, Copy)]
enum Child {
    Node(usize),
    Leaf(usize),
}

impl Ensemble {
    fn leaf(&mut self, target: usize, weight: f64) -> usize {
        self.leaf_targetids.push(target as i64);
        self.leaf_weights.push(weight);
        self.leaf_weights.len() - 1
    }

    /// A `x[feature] <= split` node; NaN goes to the true branch when `missing_true`.
    fn split(&mut self, feature: u32, split: f64, missing_true: bool) -> usize {
        self.featureids.push(i64::from(feature));
        self.splits.push(split);
        self.missing_tracks_true.push(i64::from(missing_true));
        self.truenodeids.push(0);
        self.trueleafs.push(0);
        self.falsenodeids.push(0);
        self.falseleafs.push(0);
        self.featureids.len() - 1
    }

    fn link(&mut self, node: usize, on_true: Child, on_false: Child) {
        self.set_branch(node, true, on_true);
        self.set_branch(node, false, on_false);
    }

    fn set_branch(&mut self, node: usize, on_true: bool, child: Child) {
        let (id, is_leaf) = match child {
            Child::Node(n) => (n as i64, 0),
            Child::Leaf(l) => (l as i64, 1),
        };
        if on_true {
            (self.truenodeids[node], self.trueleafs[node]) = (id, is_leaf);
        } else {
            (self.falsenodeids[node], self.falseleafs[node]) = (id, is_leaf);
        }
    }

    /// A tree that is one leaf: a split both of whose branches reach it.
    fn constant_tree(&mut self, target: usize, weight: f64) {
        let leaf = self.leaf(target, weight);
        let node = self.split(0, 0.0, true);
        self.link(node, Child::Leaf(leaf), Child::Leaf(leaf));
        self.tree_roots.push(node as i64);
    }

    fn of_trees(trees: &TreeEnsemble) -> Self {
        let mut e = Self::default();
        for tree in &trees.trees {
            if tree.n_splits() == 0 {
                e.constant_tree(0, tree.leaf_value[0]);
                continue;
            }
            let node0 = e.featureids.len();
            let leaf0 = e.leaf_weights.len();
            for &v in &tree.leaf_value {
                e.leaf(0, v);
            }
            for s in 0..tree.n_splits() {
                e.split(tree.feature[s], tree.threshold[s], tree.missing_left[s]);
            }
            let child = |r: NodeRef| match r {
                NodeRef::Split(n) => Child::Node(node0 + n as usize),
                NodeRef::Leaf(l) => Child::Leaf(leaf0 + l as usize),
            };
            for s in 0..tree.n_splits() {
                e.link(node0 + s, child(tree.left[s]), child(tree.right[s]));
            }
            e.tree_roots.push(node0 as i64);
        }
        if e.tree_roots.is_empty() {
            e.constant_tree(0, 0.0);
        }
        e
    }

    /// One tree per scorecard feature, whose leaf (target `k` for the `k`-th feature) is the
    /// weight of evidence of the row's bin; and the coefficients by target.
    fn of_scorecard(card: &Scorecard) -> (Self, Vec<f64>) {
        let mut e = Self::default();
        let mut coefficients = Vec::with_capacity(card.features.len());
        for (k, f) in card.features.iter().enumerate() {
            coefficients.push(f.coefficient);
            // The root sends NaN (and only NaN) to the missing bin, everything else down a
            // chain: bin b holds the values above upper[b-1] up to upper[b], and values above
            // the last bound fall in the last bin, as in `ScorecardFeature::woe_of`.
            let root = e.split(f.feature, f64::INFINITY, false);
            let missing = e.leaf(k, f.missing_woe);
            e.set_branch(root, false, Child::Leaf(missing));
            e.tree_roots.push(root as i64);
            let (mut open, mut open_side) = (root, true);
            for b in 0..f.woe.len() - 1 {
                let node = e.split(f.feature, f.upper[b], false);
                e.set_branch(open, open_side, Child::Node(node));
                let leaf = e.leaf(k, f.woe[b]);
                e.set_branch(node, true, Child::Leaf(leaf));
                (open, open_side) = (node, false);
            }
            let last = e.leaf(k, f.woe[f.woe.len() - 1]);
            e.set_branch(open, open_side, Child::Leaf(last));
        }
        if coefficients.is_empty() {
            e.constant_tree(0, 0.0);
            coefficients.push(0.0);
        }
        (e, coefficients)
    }
}

/// Nodes and initializers in the order they are added (which is a topological order).
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Graph {
    /// Adds a node with one output and returns the output's name.
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![output.to_owned()],
            name: format!("{output}_{op}"),
            op_type: op.to_owned(),
            domain: String::new(),
            attribute,
            doc_string: String::new(),
        });
        output.to_owned()
    }

    fn constant_f64(&mut self, name: &str, dims: &[i64], values: &[f64]) -> String {
        self.initializers.push(tensor_f64(name, dims, values));
        name.to_owned()
    }

    fn constant_i64(&mut self, name: &str, dims: &[i64], values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: dims.to_vec(),
            data_type: data_type::INT64,
            name: name.to_owned(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.to_owned()
    }

    fn tree_ensemble(&mut self, e: &Ensemble, n_targets: usize, output: &str) -> String {
        let attribute = vec![
            attr_int("aggregate_function", 1), // SUM
            attr_int("n_targets", n_targets as i64),
            attr_int("post_transform", 0), // NONE
            attr_ints("tree_roots", &e.tree_roots),
            attr_ints("nodes_featureids", &e.featureids),
            attr_tensor(
                "nodes_splits",
                tensor_f64("", &[e.splits.len() as i64], &e.splits),
            ),
            // 0 is BRANCH_LEQ: `x <= split` takes the true branch.
            attr_tensor(
                "nodes_modes",
                TensorProto {
                    dims: vec![e.splits.len() as i64],
                    data_type: data_type::UINT8,
                    name: String::new(),
                    raw_data: vec![0; e.splits.len()],
                },
            ),
            attr_ints("nodes_truenodeids", &e.truenodeids),
            attr_ints("nodes_trueleafs", &e.trueleafs),
            attr_ints("nodes_falsenodeids", &e.falsenodeids),
            attr_ints("nodes_falseleafs", &e.falseleafs),
            attr_ints("nodes_missing_value_tracks_true", &e.missing_tracks_true),
            attr_ints("leaf_targetids", &e.leaf_targetids),
            attr_tensor(
                "leaf_weights",
                tensor_f64("", &[e.leaf_weights.len() as i64], &e.leaf_weights),
            ),
        ];
        self.nodes.push(NodeProto {
            input: vec![INPUT.to_owned()],
            output: vec![output.to_owned()],
            name: format!("{output}_TreeEnsemble"),
            op_type: "TreeEnsemble".into(),
            domain: ML_DOMAIN.into(),
            attribute,
            doc_string: String::new(),
        });
        output.to_owned()
    }

    /// The calibrated probability `[N, 1]` of the raw scores in `raw`.
    fn calibration(&mut self, calibration: &Calibration, raw: &str) -> String {
        const P: &str = "p_class1";
        match calibration {
            Calibration::None => self.node("Sigmoid", &[raw], P, vec![]),
            Calibration::Platt { a, b } => {
                let a = self.constant_f64("platt_a", &[1, 1], &[*a]);
                let b = self.constant_f64("platt_b", &[1, 1], &[*b]);
                let scaled = self.node("Mul", &[raw, &a], "platt_scaled", vec![]);
                let shifted = self.node("Add", &[&scaled, &b], "platt_shifted", vec![]);
                self.node("Sigmoid", &[&shifted], P, vec![])
            }
            Calibration::Isotonic { x, y } => {
                // p = y[0] + sum over segments i of slope[i] * (clamp(raw, x[i], x[i+1]) - x[i]):
                // flat below x[0] and above the last x, linear in between.
                let (lo, hi, slope): (Vec<f64>, Vec<f64>, Vec<f64>) = if x.len() < 2 {
                    (vec![x[0]], vec![x[0]], vec![0.0])
                } else {
                    let segments = x.len() - 1;
                    let mut lo = Vec::with_capacity(segments);
                    let mut hi = Vec::with_capacity(segments);
                    let mut slope = Vec::with_capacity(segments);
                    for i in 0..segments {
                        lo.push(x[i]);
                        hi.push(x[i + 1]);
                        slope.push((y[i + 1] - y[i]) / (x[i + 1] - x[i]));
                    }
                    (lo, hi, slope)
                };
                let s = lo.len() as i64;
                let lo = self.constant_f64("isotonic_lo", &[1, s], &lo);
                let hi = self.constant_f64("isotonic_hi", &[1, s], &hi);
                let slope = self.constant_f64("isotonic_slope", &[1, s], &slope);
                let y0 = self.constant_f64("isotonic_y0", &[1, 1], &[y[0]]);
                let axes = self.constant_i64("isotonic_axes", &[1], &[1]);
                let below = self.node("Min", &[raw, &hi], "isotonic_below", vec![]);
                let clamped = self.node("Max", &[&below, &lo], "isotonic_clamped", vec![]);
                let along = self.node("Sub", &[&clamped, &lo], "isotonic_along", vec![]);
                let rise = self.node("Mul", &[&along, &slope], "isotonic_rise", vec![]);
                let total = self.node(
                    "ReduceSum",
                    &[&rise, &axes],
                    "isotonic_total",
                    vec![attr_int("keepdims", 1)],
                );
                self.node("Add", &[&total, &y0], P, vec![])
            }
        }
    }
}

fn tensor_f64(name: &str, dims: &[i64], values: &[f64]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: data_type::DOUBLE,
        name: name.to_owned(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i,
        ..AttributeProto::default()
    }
}

fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: ints.to_vec(),
        ..AttributeProto::default()
    }
}

fn attr_tensor(name: &str, t: TensorProto) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::TENSOR,
        t: Some(t),
        ..AttributeProto::default()
    }
}

fn value_info(
    name: &str,
    elem_type: i32,
    dims: Vec<tensor_shape_proto::dimension::Value>,
) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .into_iter()
                        .map(|v| tensor_shape_proto::Dimension { value: Some(v) })
                        .collect(),
                }),
            })),
        }),
        doc_string: String::new(),
    }
}

/// `n_rows` rows (row-major) that probe every decision boundary of `body`: each feature takes,
/// at random (seeded), one of its split thresholds or bin bounds, the values just below and
/// just above it, NaN, or a value beyond all of them. Row 0 is all NaN. Scoring them natively
/// and through an export compares every branch, including the missing-value directions.
pub fn probe_rows(body: &recoup_model::ModelBody, n_rows: usize, seed: u64) -> Vec<f64> {
    let n = body.n_features();
    let mut bounds: Vec<Vec<f64>> = vec![Vec::new(); n];
    match &body.scorer {
        Scorer::Trees(t) => {
            for tree in &t.trees {
                for (f, th) in tree.feature.iter().zip(&tree.threshold) {
                    bounds[*f as usize].push(*th);
                }
            }
        }
        Scorer::Scorecard(card) => {
            for f in &card.features {
                bounds[f.feature as usize].extend(f.upper.iter().filter(|u| u.is_finite()));
            }
        }
    }
    let candidates: Vec<Vec<f64>> = bounds
        .into_iter()
        .map(|mut b| {
            b.sort_by(f64::total_cmp);
            b.dedup();
            let mut c = vec![f64::NAN, -1e300, 1e300, 0.0];
            for t in b {
                c.extend([t.next_down(), t, t.next_up()]);
            }
            c
        })
        .collect();
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut rows = Vec::with_capacity(n_rows * n);
    for r in 0..n_rows {
        for c in &candidates {
            rows.push(if r == 0 {
                f64::NAN
            } else {
                c[(next() % c.len() as u64) as usize]
            });
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use recoup_model::ScorecardFeature;

    /// The ensemble's sum per target for one row, walking nodes as `TreeEnsemble` specifies.
    fn walk(e: &Ensemble, row: &[f64], n_targets: usize) -> Vec<f64> {
        let mut out = vec![0.0; n_targets];
        for &root in &e.tree_roots {
            let mut node = root as usize;
            loop {
                let x = row[e.featureids[node] as usize];
                let go_true = if x.is_nan() {
                    e.missing_tracks_true[node] == 1
                } else {
                    x <= e.splits[node]
                };
                let (id, leaf) = if go_true {
                    (e.truenodeids[node], e.trueleafs[node])
                } else {
                    (e.falsenodeids[node], e.falseleafs[node])
                };
                if leaf == 1 {
                    out[e.leaf_targetids[id as usize] as usize] += e.leaf_weights[id as usize];
                    break;
                }
                node = id as usize;
            }
        }
        out
    }

    #[test]
    fn tree_and_scorecard_layouts_reach_the_native_leaves() {
        let tree = recoup_model::Tree {
            feature: vec![0, 1],
            threshold: vec![1.5, 0.0],
            missing_left: vec![false, true],
            left: vec![NodeRef::Split(1), NodeRef::Leaf(0)],
            right: vec![NodeRef::Leaf(2), NodeRef::Leaf(1)],
            leaf_value: vec![-1.0, 2.0, 5.0],
            ..Default::default()
        };
        let trees = TreeEnsemble {
            n_features: 2,
            base_score: 0.0,
            trees: vec![tree, recoup_model::Tree::leaf(0.25)],
        };
        let e = Ensemble::of_trees(&trees);
        assert_eq!(e.tree_roots, [0, 2]);
        let card = Scorecard {
            n_features: 2,
            intercept: 0.0,
            features: vec![
                ScorecardFeature {
                    feature: 1,
                    upper: vec![-1.0, 0.0, 3.0],
                    woe: vec![0.1, 0.2, 0.3],
                    missing_woe: -0.5,
                    coefficient: 1.0,
                },
                ScorecardFeature {
                    feature: 0,
                    upper: vec![f64::MAX],
                    woe: vec![0.7],
                    missing_woe: 0.9,
                    coefficient: 1.0,
                },
            ],
        };
        let (c, coefficients) = Ensemble::of_scorecard(&card);
        assert_eq!(coefficients, [1.0, 1.0]);
        let values = [
            f64::NAN,
            -2.0,
            -1.0,
            -0.5,
            0.0,
            1.5,
            1.6,
            3.0,
            4.0,
            f64::INFINITY,
        ];
        for &a in &values {
            for &b in &values {
                let row = [a, b];
                assert_eq!(walk(&e, &row, 1)[0], trees.predict_raw(&row), "{row:?}");
                let woe: Vec<f64> = card
                    .features
                    .iter()
                    .map(|f| f.woe_of(row[f.feature as usize]))
                    .collect();
                assert_eq!(walk(&c, &row, 2), woe, "{row:?}");
            }
        }
    }

    #[test]
    fn the_file_decodes_to_the_documented_graph() {
        let model = ModelFile::new(
            recoup_model::ModelKind::GbdtBinary,
            "paid".into(),
            recoup_model::ModelSchema::new(vec![recoup_model::FeatureColumn {
                name: "x".into(),
                dtype: "float64".into(),
                categories: None,
            }]),
            "f".into(),
            0,
            serde_json::json!({}),
            serde_json::json!({}),
            recoup_model::ModelBody {
                scorer: Scorer::Trees(TreeEnsemble {
                    n_features: 1,
                    base_score: 0.5,
                    trees: vec![],
                }),
                calibration: Calibration::None,
            },
        );
        let bytes = to_onnx(&model, "m").unwrap();
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(back.ir_version, IR_VERSION);
        let graph = back.graph.unwrap();
        assert_eq!(graph.input[0].name, INPUT);
        let outputs: Vec<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(outputs, [LABEL, PROBABILITIES, RAW_SCORE]);
        let trees = graph
            .node
            .iter()
            .find(|n| n.op_type == "TreeEnsemble")
            .unwrap();
        assert_eq!(trees.domain, ML_DOMAIN);
        let meta: std::collections::BTreeMap<_, _> = back
            .metadata_props
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(meta[metadata::FEATURE_NAMES], "x");
        assert_eq!(meta[metadata::BODY_BLAKE3], model.body_blake3());
    }
}
