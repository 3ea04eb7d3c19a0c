//! CompressionFormat: the bytes of one object, built from its records.
//!
//! Records are concatenated as sent (Firehose adds no separator), then compressed as one
//! stream: GZIP (RFC 1952), ZIP (one deflated entry), Snappy (the framing format that
//! `python-snappy`'s `stream_decompress` and `snzip` read) or HADOOP_SNAPPY (Hadoop's
//! `BlockCompressorStream` layout that `hadoop fs -text` reads).

use crate::model::Compression;
use std::io::Write;

/// GZIP and ZIP use deflate's fastest level: it keeps one delivery worker (one core) ahead of
/// ingest on text, and any inflater reads every level alike. (Firehose does not say which level
/// it uses.)
fn level() -> flate2::Compression {
    flate2::Compression::fast()
}

/// Hadoop's default Snappy buffer (`io.compression.codec.snappy.buffersize`), in bytes: the
/// uncompressed size of one block.
const HADOOP_BLOCK_BYTES: usize = 256 * 1024;

/// The object body for `records` under `format`; `entry_name` names the ZIP entry.
pub fn compress<'a>(
    format: Compression,
    records: impl Iterator<Item = &'a [u8]>,
    entry_name: &str,
) -> std::io::Result<Vec<u8>> {
    let raw: Vec<u8> = records.flat_map(|r| r.iter().copied()).collect();
    match format {
        Compression::Uncompressed => Ok(raw),
        Compression::Gzip => gzip_parallel(&raw),
        Compression::Zip => zip(&raw, entry_name),
        Compression::Snappy => {
            let mut out = snap::write::FrameEncoder::new(Vec::new());
            out.write_all(&raw)?;
            out.into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))
        }
        Compression::HadoopSnappy => hadoop_snappy(&raw),
    }
}

/// Bytes below which one thread compresses the whole object.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

fn gzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = flate2::write::GzEncoder::new(Vec::new(), level());
    out.write_all(raw)?;
    out.finish()
}

/// A large object is compressed as one gzip member per core, concatenated: RFC 1952 allows
/// several members in a file, and gzip, zcat and every gzip library read them as one stream.
fn gzip_parallel(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || raw.len() < PARALLEL_MIN_BYTES {
        return gzip(raw);
    }
    let chunk = raw.len().div_ceil(threads);
    let members = std::thread::scope(|scope| {
        let workers: Vec<_> = raw
            .chunks(chunk)
            .map(|part| scope.spawn(move || gzip(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("compression thread failed")))
            })
            .collect::<std::io::Result<Vec<Vec<u8>>>>()
    })?;
    Ok(members.concat())
}

fn zip(raw: &[u8], entry_name: &str) -> std::io::Result<Vec<u8>> {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(raw.len() as u64 >= u64::from(u32::MAX));
    out.start_file(entry_name, options)
        .map_err(std::io::Error::other)?;
    out.write_all(raw)?;
    let cursor = out.finish().map_err(std::io::Error::other)?;
    Ok(cursor.into_inner())
}

/// Each block: the uncompressed length (4 bytes, big-endian), then one chunk: its compressed
/// length (4 bytes, big-endian) and raw Snappy bytes.
fn hadoop_snappy(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = snap::raw::Encoder::new();
    let mut out = Vec::with_capacity(raw.len() / 2 + 16);
    for block in raw.chunks(HADOOP_BLOCK_BYTES) {
        let compressed = encoder
            .compress_vec(block)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        out.extend_from_slice(&u32_len(block.len())?.to_be_bytes());
        out.extend_from_slice(&u32_len(compressed.len())?.to_be_bytes());
        out.extend_from_slice(&compressed);
    }
    Ok(out)
}

fn u32_len(len: usize) -> std::io::Result<u32> {
    u32::try_from(len).map_err(|_| std::io::Error::other("block longer than 4 GiB"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn records() -> Vec<Vec<u8>> {
        (0..2000)
            .map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect()
    }

    fn raw() -> Vec<u8> {
        records().concat()
    }

    fn build(format: Compression) -> Vec<u8> {
        let records = records();
        compress(format, records.iter().map(Vec::as_slice), "entry").unwrap()
    }

    #[test]
    fn uncompressed_is_the_records_back_to_back() {
        assert_eq!(build(Compression::Uncompressed), raw());
    }

    #[test]
    fn gzip_decodes() {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&build(Compression::Gzip)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, raw());
    }

    #[test]
    fn large_gzip_objects_decode_as_one_stream() {
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let body = compress(Compression::Gzip, [&big[..]].into_iter(), "").unwrap();
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, big);
    }

    #[test]
    fn zip_holds_one_entry() {
        let body = build(Compression::Zip);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(body)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut out = Vec::new();
        archive
            .by_name("entry")
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, raw());
    }

    #[test]
    fn snappy_frames_decode() {
        let mut out = Vec::new();
        snap::read::FrameDecoder::new(&build(Compression::Snappy)[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, raw());
    }

    #[test]
    fn hadoop_snappy_blocks_decode() {
        let big: Vec<u8> = (0..1_400_000u32).map(|i| (i % 251) as u8).collect();
        let body = compress(Compression::HadoopSnappy, [&big[..]].into_iter(), "").unwrap();
        let mut out = Vec::new();
        let mut rest = &body[..];
        while !rest.is_empty() {
            let raw_len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            let len = u32::from_be_bytes(rest[4..8].try_into().unwrap()) as usize;
            let block = snap::raw::Decoder::new()
                .decompress_vec(&rest[8..8 + len])
                .unwrap();
            assert_eq!(block.len(), raw_len);
            out.extend(block);
            rest = &rest[8 + len..];
        }
        assert_eq!(out, big);
    }
}
