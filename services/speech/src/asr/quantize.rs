//! A whisper ggml model re-stored with its weight matrices in a quantized
//! type (q8_0, q5_1, ...) by ggml's own quantizer, as whisper.cpp's
//! `quantize` tool does: a smaller file whose matrix products run on
//! integer kernels. The f16 model stays the source; the quantized one is
//! derived beside it ([`quantized`]) and made again when the source is
//! newer.
//!
//! Only the file layout is read here (header, mel filters, vocabulary,
//! tensors); whisper.cpp still validates the model when it loads it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use whisper_rs_sys as sys;

/// How the weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightType {
    /// As converted: no quantization.
    F16,
    Q8_0,
    Q5_1,
    Q5_0,
    Q4_0,
}

impl WeightType {
    fn ggml(self) -> (sys::ggml_type, sys::ggml_ftype) {
        match self {
            WeightType::F16 => (
                sys::ggml_type_GGML_TYPE_F16,
                sys::ggml_ftype_GGML_FTYPE_MOSTLY_F16,
            ),
            WeightType::Q8_0 => (
                sys::ggml_type_GGML_TYPE_Q8_0,
                sys::ggml_ftype_GGML_FTYPE_MOSTLY_Q8_0,
            ),
            WeightType::Q5_1 => (
                sys::ggml_type_GGML_TYPE_Q5_1,
                sys::ggml_ftype_GGML_FTYPE_MOSTLY_Q5_1,
            ),
            WeightType::Q5_0 => (
                sys::ggml_type_GGML_TYPE_Q5_0,
                sys::ggml_ftype_GGML_FTYPE_MOSTLY_Q5_0,
            ),
            WeightType::Q4_0 => (
                sys::ggml_type_GGML_TYPE_Q4_0,
                sys::ggml_ftype_GGML_FTYPE_MOSTLY_Q4_0,
            ),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightType::F16 => "f16",
            WeightType::Q8_0 => "q8_0",
            WeightType::Q5_1 => "q5_1",
            WeightType::Q5_0 => "q5_0",
            WeightType::Q4_0 => "q4_0",
        }
    }
}

impl FromStr for WeightType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            WeightType::F16,
            WeightType::Q8_0,
            WeightType::Q5_1,
            WeightType::Q5_0,
            WeightType::Q4_0,
        ]
        .into_iter()
        .find(|w| w.name() == s)
        .ok_or_else(|| format!("'{s}' is none of f16, q8_0, q5_1, q5_0, q4_0"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {what}: {reason}")]
    Format {
        path: String,
        what: String,
        reason: String,
    },
}

/// What a quantization did.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizeReport {
    pub tensors: usize,
    pub quantized: usize,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

const MAGIC: u32 = 0x6767_6d6c;
const HPARAMS: usize = 11;
const FTYPE: usize = 10;
/// More than any whisper tensor holds (large-v3's largest: 66 million).
const MAX_ELEMENTS: usize = 1 << 28;

/// The model `source` with its weights in `weights`: `source` itself for
/// f16 or when `source` is not an f16 model (a downloaded model already
/// quantized, or f32), else a file beside it (`<stem>-<type>.bin`) that is
/// made when missing or older than `source`. The file is written under a
/// temporary name and renamed, so processes starting together never load
/// half of it.
pub fn quantized(source: &Path, weights: WeightType) -> Result<PathBuf, QuantizeError> {
    if weights == WeightType::F16 {
        return Ok(source.to_path_buf());
    }
    let stored = stored_ftype(source)?;
    if stored != sys::ggml_ftype_GGML_FTYPE_MOSTLY_F16 {
        tracing::info!(
            model = %source.display(),
            ftype = stored,
            "the recognizer's model is not f16: loaded as it is"
        );
        return Ok(source.to_path_buf());
    }
    let stem = source
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = source.with_file_name(format!("{stem}-{}.bin", weights.name()));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| QuantizeError::Io { path, source }
    };
    let source_time = std::fs::metadata(source)
        .and_then(|m| m.modified())
        .map_err(io(source))?;
    if modified(&target).is_some_and(|t| t >= source_time) {
        return Ok(target);
    }
    // Each call writes its own file (two threads of one process may load
    // the recognizer at once) and the rename makes whichever ends last the
    // copy: both are the same bytes.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = target.with_extension(format!("bin.{}.{call}.part", std::process::id()));
    let started = std::time::Instant::now();
    let report = quantize_file(source, &tmp, weights).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::rename(&tmp, &target).map_err(io(&target))?;
    tracing::info!(
        model = %target.display(),
        weights = weights.name(),
        tensors = report.quantized,
        mb_in = report.bytes_in / 1_000_000,
        mb_out = report.bytes_out / 1_000_000,
        ms = started.elapsed().as_millis() as u64,
        "quantized the recognizer's weights"
    );
    Ok(target)
}

/// The weight type a ggml whisper file says it holds (ggml_ftype).
fn stored_ftype(path: &Path) -> Result<i32, QuantizeError> {
    let io = |source| QuantizeError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut r = BufReader::new(File::open(path).map_err(io)?);
    let (_, hparams) = read_header(&mut r).map_err(io)?;
    Ok(weight_ftype(&hparams))
}

/// The magic number and hyperparameters that open a ggml whisper file.
fn read_header(r: &mut impl Read) -> std::io::Result<(u32, [i32; HPARAMS])> {
    let magic = read_i32(r)? as u32;
    let mut hparams = [0i32; HPARAMS];
    for h in hparams.iter_mut() {
        *h = read_i32(r)?;
    }
    Ok((magic, hparams))
}

/// The weight type (ggml_ftype) the hyperparameters give, without the
/// quantization version folded into it.
fn weight_ftype(hparams: &[i32; HPARAMS]) -> i32 {
    hparams[FTYPE] % sys::GGML_QNT_VERSION_FACTOR as i32
}

/// Copies the ggml whisper model `src` to `dst`, storing every f16 weight
/// matrix as `weights`; vectors, convolutions and f32 tensors stay as
/// they are (whisper.cpp expects them so).
pub fn quantize_file(
    src: &Path,
    dst: &Path,
    weights: WeightType,
) -> Result<QuantizeReport, QuantizeError> {
    let src_name = src.display().to_string();
    let io_in = |source| QuantizeError::Io {
        path: src_name.clone(),
        source,
    };
    let bad = |what: &str, reason: String| QuantizeError::Format {
        path: src_name.clone(),
        what: what.to_string(),
        reason,
    };
    let mut r = BufReader::new(File::open(src).map_err(io_in)?);
    let out = File::create(dst).map_err(|source| QuantizeError::Io {
        path: dst.display().to_string(),
        source,
    })?;
    let mut w = Counting::new(BufWriter::new(out));
    let io_out = |source| QuantizeError::Io {
        path: dst.display().to_string(),
        source,
    };
    let (wtype, ftype) = weights.ggml();

    let (magic, mut hparams) = read_header(&mut r).map_err(io_in)?;
    if magic != MAGIC {
        return Err(bad("magic", format!("{magic:#x} is not a ggml model")));
    }
    if weight_ftype(&hparams) != sys::ggml_ftype_GGML_FTYPE_MOSTLY_F16 {
        return Err(bad(
            "hparams.ftype",
            format!("{} is not an f16 model (ftype 1)", hparams[FTYPE]),
        ));
    }
    hparams[FTYPE] = if weights == WeightType::F16 {
        ftype
    } else {
        sys::GGML_QNT_VERSION as i32 * sys::GGML_QNT_VERSION_FACTOR as i32 + ftype
    };
    w.write_all(&MAGIC.to_le_bytes()).map_err(io_out)?;
    for h in hparams {
        w.write_all(&h.to_le_bytes()).map_err(io_out)?;
    }

    // Mel filters: n_mel, n_fft, then n_mel * n_fft f32.
    let n_mel = read_i32(&mut r).map_err(io_in)?;
    let n_fft = read_i32(&mut r).map_err(io_in)?;
    let filters = count("mel filters", &[n_mel, n_fft]).map_err(|e| bad("mel filters", e))?;
    w.write_all(&n_mel.to_le_bytes()).map_err(io_out)?;
    w.write_all(&n_fft.to_le_bytes()).map_err(io_out)?;
    let data = read_vec(&mut r, filters * 4).map_err(io_in)?;
    w.write_all(&data).map_err(io_out)?;

    // Vocabulary: count, then (length, bytes) per token.
    let n_vocab = read_i32(&mut r).map_err(io_in)?;
    if !(0..=1_000_000).contains(&n_vocab) {
        return Err(bad("vocabulary", format!("{n_vocab} tokens")));
    }
    w.write_all(&n_vocab.to_le_bytes()).map_err(io_out)?;
    for i in 0..n_vocab {
        let len = read_i32(&mut r).map_err(io_in)?;
        if !(0..=1024).contains(&len) {
            return Err(bad(&format!("token {i}"), format!("length {len}")));
        }
        w.write_all(&len.to_le_bytes()).map_err(io_out)?;
        let token = read_vec(&mut r, len as usize).map_err(io_in)?;
        w.write_all(&token).map_err(io_out)?;
    }

    let mut report = QuantizeReport {
        tensors: 0,
        quantized: 0,
        bytes_in: 0,
        bytes_out: 0,
    };
    let mut row_f32 = Vec::new();
    let mut quant = Vec::new();
    loop {
        let mut head = [0u8; 4];
        match r.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(io_in(e)),
        }
        let n_dims = i32::from_le_bytes(head);
        let name_len = read_i32(&mut r).map_err(io_in)?;
        let ttype = read_i32(&mut r).map_err(io_in)?;
        let what = format!("tensor {}", report.tensors);
        if !(1..=sys::GGML_MAX_DIMS as i32).contains(&n_dims) || !(1..=256).contains(&name_len) {
            return Err(bad(
                &what,
                format!("{n_dims} dims, name of {name_len} bytes"),
            ));
        }
        let mut ne = vec![0i32; n_dims as usize];
        for d in ne.iter_mut() {
            *d = read_i32(&mut r).map_err(io_in)?;
        }
        let mut name = vec![0u8; name_len as usize];
        r.read_exact(&mut name).map_err(io_in)?;
        let what = format!("tensor {}", String::from_utf8_lossy(&name));
        let elements = count(&what, &ne).map_err(|e| bad(&what, e))?;
        let in_bytes = match ttype as sys::ggml_type {
            sys::ggml_type_GGML_TYPE_F32 => elements * 4,
            sys::ggml_type_GGML_TYPE_F16 => elements * 2,
            t => return Err(bad(&what, format!("type {t} is neither f32 nor f16"))),
        };
        let matrix = ttype as sys::ggml_type == sys::ggml_type_GGML_TYPE_F16 && n_dims == 2;
        let out_type = if matrix {
            wtype
        } else {
            ttype as sys::ggml_type
        };
        w.write_all(&n_dims.to_le_bytes()).map_err(io_out)?;
        w.write_all(&name_len.to_le_bytes()).map_err(io_out)?;
        w.write_all(&(out_type as i32).to_le_bytes())
            .map_err(io_out)?;
        for d in &ne {
            w.write_all(&d.to_le_bytes()).map_err(io_out)?;
        }
        w.write_all(&name).map_err(io_out)?;
        report.tensors += 1;
        report.bytes_in += in_bytes as u64;
        let data_err = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => bad(&what, "the file ends inside it".into()),
            _ => io_in(e),
        };
        if !matrix || weights == WeightType::F16 {
            let data = read_vec(&mut r, in_bytes).map_err(data_err)?;
            w.write_all(&data).map_err(io_out)?;
            continue;
        }
        let per_row = ne[0] as usize;
        // SAFETY: ggml_blck_size only reads ggml's static type table.
        let block = unsafe { sys::ggml_blck_size(wtype) } as usize;
        if !per_row.is_multiple_of(block) {
            return Err(bad(
                &what,
                format!("rows of {per_row} are not whole blocks of {block}"),
            ));
        }
        let rows = elements / per_row;
        let raw = read_vec(&mut r, in_bytes).map_err(data_err)?;
        let halves: Vec<u16> = raw
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        row_f32.resize(elements, 0f32);
        // SAFETY: both buffers hold `elements` values.
        unsafe {
            sys::ggml_fp16_to_fp32_row(halves.as_ptr(), row_f32.as_mut_ptr(), elements as i64)
        };
        // SAFETY: ggml_row_size only reads ggml's static type table.
        let out_bytes = unsafe { sys::ggml_row_size(wtype, per_row as i64) } * rows;
        quant.resize(out_bytes, 0u8);
        // SAFETY: `row_f32` holds rows * per_row values and `quant` the
        // bytes ggml_row_size gives for them; these types need no imatrix.
        let written = unsafe {
            sys::ggml_quantize_chunk(
                wtype,
                row_f32.as_ptr(),
                quant.as_mut_ptr().cast(),
                0,
                rows as i64,
                per_row as i64,
                std::ptr::null(),
            )
        };
        if written != out_bytes {
            return Err(bad(
                &what,
                format!("quantizer wrote {written} bytes, expected {out_bytes}"),
            ));
        }
        w.write_all(&quant).map_err(io_out)?;
        report.quantized += 1;
    }
    if report.quantized == 0 && weights != WeightType::F16 {
        return Err(bad("tensors", "no f16 weight matrix to quantize".into()));
    }
    report.bytes_out = w.written;
    w.inner.flush().map_err(io_out)?;
    Ok(report)
}

/// The product of a tensor's dimensions, refusing what cannot be real.
fn count(what: &str, dims: &[i32]) -> Result<usize, String> {
    dims.iter().try_fold(1usize, |n, &d| {
        if d <= 0 {
            return Err(format!("{what}: dimension {d}"));
        }
        n.checked_mul(d as usize)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| format!("{what}: dimensions {dims:?} are too large"))
    })
}

fn read_i32(r: &mut impl Read) -> std::io::Result<i32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(i32::from_le_bytes(b))
}

fn read_vec(r: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// A writer that counts the bytes through it.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, written: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One tensor of a synthetic model: name, ggml dims, type, data.
    struct Tensor {
        name: &'static str,
        ne: Vec<i32>,
        ttype: sys::ggml_type,
        data: Vec<u8>,
    }

    fn f16_bytes(values: &[f32]) -> Vec<u8> {
        let mut halves = vec![0u16; values.len()];
        // SAFETY: both buffers hold `values.len()` values.
        unsafe {
            sys::ggml_fp32_to_fp16_row(values.as_ptr(), halves.as_mut_ptr(), values.len() as i64)
        };
        halves.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn i32s(v: &[i32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// The header (magic, hparams, mel filters, vocabulary) and where the
    /// first tensor starts.
    fn header(ftype: i32) -> Vec<u8> {
        let mut b = MAGIC.to_le_bytes().to_vec();
        b.extend(i32s(&[51865, 1500, 512, 8, 6, 448, 512, 8, 6, 2, ftype]));
        b.extend(i32s(&[2, 3]));
        b.extend(f32_bytes(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
        b.extend(i32s(&[2, 1]));
        b.push(b'a');
        b.extend(i32s(&[2]));
        b.extend(b"bc");
        b
    }

    fn tensor_bytes(t: &Tensor) -> Vec<u8> {
        let mut b = i32s(&[t.ne.len() as i32, t.name.len() as i32, t.ttype as i32]);
        b.extend(i32s(&t.ne));
        b.extend(t.name.as_bytes());
        b.extend(&t.data);
        b
    }

    fn model(ftype: i32, tensors: &[Tensor]) -> Vec<u8> {
        let mut b = header(ftype);
        for t in tensors {
            b.extend(tensor_bytes(t));
        }
        b
    }

    fn matrix(per_row: usize, rows: usize) -> (Vec<f32>, Tensor) {
        let values: Vec<f32> = (0..per_row * rows)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 40.0)
            .collect();
        let t = Tensor {
            name: "decoder.blocks.0.mlp.0.weight",
            ne: vec![per_row as i32, rows as i32],
            ttype: sys::ggml_type_GGML_TYPE_F16,
            data: f16_bytes(&values),
        };
        (values, t)
    }

    fn vector() -> Tensor {
        Tensor {
            name: "decoder.blocks.0.mlp.0.bias",
            ne: vec![64],
            ttype: sys::ggml_type_GGML_TYPE_F32,
            data: f32_bytes(&(0..64).map(|i| i as f32 * 0.25).collect::<Vec<_>>()),
        }
    }

    fn run(bytes: &[u8], weights: WeightType) -> (Result<QuantizeReport, QuantizeError>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let (src, dst) = (dir.path().join("m.bin"), dir.path().join("q.bin"));
        std::fs::write(&src, bytes).unwrap();
        let r = quantize_file(&src, &dst, weights);
        (r, std::fs::read(&dst).unwrap_or_default())
    }

    #[test]
    fn matrices_are_stored_in_q8_0_and_everything_else_as_it_was() {
        let (values, m) = matrix(64, 2);
        let v = vector();
        let (report, out) = run(&model(1, &[m, vector()]), WeightType::Q8_0);
        let report = report.unwrap();
        assert_eq!((report.tensors, report.quantized), (2, 1));
        assert_eq!(report.bytes_out, out.len() as u64);

        // Header as it was, but for the type: quantization version 2, q8_0.
        let mut head = header(2007);
        assert_eq!(&out[..head.len()], &head[..]);
        // The matrix: its head with type q8_0, then 4 blocks of 32 values,
        // each an f16 scale and 32 signed bytes.
        let name_at = head.len() + 5 * 4;
        let t_head = i32s(&[2, 29, sys::ggml_type_GGML_TYPE_Q8_0 as i32, 64, 2]);
        assert_eq!(&out[head.len()..name_at], &t_head[..]);
        let data_at = name_at + 29;
        let blocks = &out[data_at..data_at + 4 * 34];
        for (b, block) in blocks.chunks_exact(34).enumerate() {
            let mut scale = 0f32;
            // SAFETY: one value each side.
            unsafe {
                sys::ggml_fp16_to_fp32_row(&u16::from_le_bytes([block[0], block[1]]), &mut scale, 1)
            };
            let original = &values[b * 32..b * 32 + 32];
            let max = original.iter().fold(0f32, |m, x| m.max(x.abs()));
            assert!(
                (scale - max / 127.0).abs() < 1e-3,
                "block {b}: scale {scale}"
            );
            for (q, x) in block[2..].iter().zip(original) {
                let back = *q as i8 as f32 * scale;
                assert!((back - x).abs() <= scale * 0.51 + 1e-3, "{back} vs {x}");
            }
        }
        // The vector follows unchanged, and nothing else.
        head = tensor_bytes(&v);
        assert_eq!(&out[data_at + 4 * 34..], &head[..]);
    }

    #[test]
    fn f16_rewrites_the_model_byte_for_byte() {
        let (_, m) = matrix(64, 3);
        let bytes = model(1, &[m, vector()]);
        let (report, out) = run(&bytes, WeightType::F16);
        assert_eq!(report.unwrap().quantized, 0);
        assert_eq!(out, bytes);
    }

    #[test]
    fn a_model_that_cannot_be_quantized_is_refused_naming_what_and_why() {
        let (_, m) = matrix(64, 2);
        let mut not_ggml = model(1, &[m]);
        not_ggml[0] = 0;
        let (_, m) = matrix(64, 2);
        let already = model(2007, &[m]);
        let (_, m) = matrix(64, 2);
        let mut cut = model(1, &[m]);
        cut.truncate(cut.len() - 10);
        let (_, m) = matrix(48, 2);
        let odd_rows = model(1, &[m]);
        let cases = [
            (not_ggml, "magic"),
            (already, "hparams.ftype: 2007 is not an f16 model"),
            (
                cut,
                "tensor decoder.blocks.0.mlp.0.weight: the file ends inside it",
            ),
            (odd_rows, "rows of 48 are not whole blocks of 32"),
            (model(1, &[vector()]), "no f16 weight matrix"),
        ];
        for (bytes, expected) in cases {
            let e = run(&bytes, WeightType::Q8_0).0.unwrap_err().to_string();
            assert!(e.contains(expected) && e.contains("m.bin"), "{e}");
        }
    }

    fn set_modified(path: &Path, t: std::time::SystemTime) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(t).unwrap();
    }

    #[test]
    fn the_quantized_copy_is_made_once_and_again_when_the_model_is_newer() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("ggml-whisper-base.bin");
        let (_, m) = matrix(64, 2);
        std::fs::write(&src, model(1, &[m])).unwrap();
        assert_eq!(quantized(&src, WeightType::F16).unwrap(), src);

        let q = quantized(&src, WeightType::Q5_1).unwrap();
        assert_eq!(q, dir.path().join("ggml-whisper-base-q5_1.bin"));
        let made = std::fs::metadata(&q).unwrap().modified().unwrap();
        // Made again only when the source changes after it.
        let old = made - std::time::Duration::from_secs(60);
        set_modified(&q, old);
        set_modified(&src, old - std::time::Duration::from_secs(60));
        quantized(&src, WeightType::Q5_1).unwrap();
        let kept = std::fs::metadata(&q).unwrap().modified().unwrap();
        assert_eq!(kept, old);
        set_modified(&src, made);
        quantized(&src, WeightType::Q5_1).unwrap();
        let remade = std::fs::metadata(&q).unwrap().modified().unwrap();
        assert!(remade > old, "{remade:?} vs {old:?}");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

        // A model that is already quantized is loaded as it is.
        assert_eq!(quantized(&q, WeightType::Q8_0).unwrap(), q);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn threads_that_quantize_at_once_each_get_the_whole_copy() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("ggml-whisper-base.bin");
        let (_, m) = matrix(64, 64);
        std::fs::write(&src, model(1, &[m, vector()])).unwrap();
        let copies: Vec<PathBuf> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| s.spawn(|| quantized(&src, WeightType::Q8_0)))
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap().unwrap())
                .collect()
        });
        let want = dir.path().join("ggml-whisper-base-q8_0.bin");
        assert!(copies.iter().all(|c| *c == want), "{copies:?}");
        let (_, alone) = run(&std::fs::read(&src).unwrap(), WeightType::Q8_0);
        assert_eq!(std::fs::read(&want).unwrap(), alone);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn weight_types_parse_by_name() {
        for w in ["f16", "q8_0", "q5_1", "q5_0", "q4_0"] {
            assert_eq!(w.parse::<WeightType>().unwrap().name(), w);
        }
        let e = "q3_k".parse::<WeightType>().unwrap_err();
        assert!(e.contains("'q3_k'") && e.contains("q8_0"), "{e}");
    }
}
