//! Rows of cells written as one Parquet file with the parquet crate's column writers.
//!
//! The schema is Hive's Parquet mapping: every column optional; tinyint/smallint/int INT32
//! (with INT(8)/INT(16) annotations), bigint INT64, float, double, boolean, decimal
//! FIXED_LEN_BYTE_ARRAY(DECIMAL), string UTF8 BYTE_ARRAY, binary BYTE_ARRAY, date
//! INT32(DATE), timestamp INT96 (as Hive, and so Firehose, write them); arrays are
//! `LIST` groups (`list`/`element`), maps `MAP` groups (`key_value`/`key`/`value`), structs
//! plain groups. Nested values are shredded into definition and repetition levels
//! (Dremel's encoding) one leaf column at a time.

use super::decimal::{fixed_len, to_fixed};
use super::hive::HiveType;
use super::json::Cell;
use super::model::{ParquetCompression, ParquetOutput};
use parquet::basic::{
    Compression, DecimalType, IntType, LogicalType, Repetition, Type as Physical,
};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::{ByteArray, FixedLenByteArray, Int96};
use parquet::file::properties::{WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::sync::Arc;

type Schema = Arc<Type>;

/// The schema tree, each leaf numbered in the order Parquet lists leaf columns.
enum Node {
    Leaf(usize),
    Struct(Vec<Node>),
    List(Box<Node>),
    /// Key (a required leaf) and value.
    Map(usize, Box<Node>),
}

/// One leaf column's values and levels.
struct Leaf {
    values: Values,
    defs: Vec<i16>,
    reps: Vec<i16>,
}

enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Fixed(Vec<FixedLenByteArray>, usize),
    I96(Vec<Int96>),
}

/// The Parquet file of `rows` (cells in `columns`' order).
pub fn write(
    columns: &[(String, HiveType)],
    rows: &[Vec<Cell>],
    output: &ParquetOutput,
) -> Result<Vec<u8>, String> {
    let mut leaves = Vec::new();
    let mut nodes = Vec::new();
    let mut fields = Vec::new();
    for (name, ty) in columns {
        let (field, node) = field(name, ty, Repetition::OPTIONAL, &mut leaves)?;
        fields.push(field);
        nodes.push(node);
    }
    let schema = Type::group_type_builder("hive_schema")
        .with_fields(fields)
        .build()
        .map_err(|e| e.to_string())?;
    for row in rows {
        for (node, cell) in nodes.iter().zip(row) {
            shred(node, cell, 0, 0, 0, &mut leaves)?;
        }
    }
    let mut writer = SerializedFileWriter::new(Vec::new(), Arc::new(schema), properties(output))
        .map_err(|e| e.to_string())?;
    let mut group = writer.next_row_group().map_err(|e| e.to_string())?;
    let mut leaves = leaves.into_iter();
    while let Some(mut column) = group.next_column().map_err(|e| e.to_string())? {
        let leaf = leaves.next().ok_or("more Parquet columns than leaves")?;
        write_leaf(column.untyped(), &leaf).map_err(|e| e.to_string())?;
        column.close().map_err(|e| e.to_string())?;
    }
    group.close().map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

fn properties(output: &ParquetOutput) -> Arc<WriterProperties> {
    let compression = match output.compression() {
        ParquetCompression::Uncompressed => Compression::UNCOMPRESSED,
        ParquetCompression::Gzip => Compression::GZIP(Default::default()),
        ParquetCompression::Snappy => Compression::SNAPPY,
    };
    let version = if output.writer_v2() {
        WriterVersion::PARQUET_2_0
    } else {
        WriterVersion::PARQUET_1_0
    };
    Arc::new(
        WriterProperties::builder()
            .set_compression(compression)
            .set_writer_version(version)
            .set_dictionary_enabled(output.dictionary())
            .set_data_page_size_limit(output.page_size_bytes())
            .set_created_by(format!("spate version {}", env!("CARGO_PKG_VERSION")))
            .build(),
    )
}

/// The schema field of a column and its node; leaves are appended to `leaves`.
fn field(
    name: &str,
    ty: &HiveType,
    repetition: Repetition,
    leaves: &mut Vec<Leaf>,
) -> Result<(Schema, Node), String> {
    let group = |fields: Vec<Schema>, logical: Option<LogicalType>| {
        Type::group_type_builder(name)
            .with_repetition(repetition)
            .with_logical_type(logical)
            .with_fields(fields)
            .build()
            .map(Arc::new)
            .map_err(|e| e.to_string())
    };
    match ty {
        HiveType::Struct(members) => {
            let (mut fields, mut nodes) = (Vec::new(), Vec::new());
            for (member, member_ty) in members {
                let (f, n) = field(member, member_ty, Repetition::OPTIONAL, leaves)?;
                fields.push(f);
                nodes.push(n);
            }
            Ok((group(fields, None)?, Node::Struct(nodes)))
        }
        HiveType::Array(element) => {
            let (element, node) = field("element", element, Repetition::OPTIONAL, leaves)?;
            let list = Type::group_type_builder("list")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![element])
                .build()
                .map_err(|e| e.to_string())?;
            let field = group(vec![Arc::new(list)], Some(LogicalType::List))?;
            Ok((field, Node::List(Box::new(node))))
        }
        HiveType::Map(key, value) => {
            let (key, key_node) = field("key", key, Repetition::REQUIRED, leaves)?;
            let Node::Leaf(key_leaf) = key_node else {
                return Err("map keys must be of a primitive type".into());
            };
            let (value, value_node) = field("value", value, Repetition::OPTIONAL, leaves)?;
            let entries = Type::group_type_builder("key_value")
                .with_repetition(Repetition::REPEATED)
                .with_fields(vec![key, value])
                .build()
                .map_err(|e| e.to_string())?;
            let field = group(vec![Arc::new(entries)], Some(LogicalType::Map))?;
            Ok((field, Node::Map(key_leaf, Box::new(value_node))))
        }
        primitive => {
            let (field, values) = primitive_field(name, primitive, repetition)?;
            leaves.push(Leaf {
                values,
                defs: Vec::new(),
                reps: Vec::new(),
            });
            Ok((field, Node::Leaf(leaves.len() - 1)))
        }
    }
}

fn primitive_field(
    name: &str,
    ty: &HiveType,
    repetition: Repetition,
) -> Result<(Schema, Values), String> {
    let int = |bits| {
        LogicalType::Integer(IntType {
            bit_width: bits,
            is_signed: true,
        })
    };
    let (physical, logical, values) = match ty {
        HiveType::Boolean => (Physical::BOOLEAN, None, Values::Bool(Vec::new())),
        HiveType::TinyInt => (Physical::INT32, Some(int(8)), Values::I32(Vec::new())),
        HiveType::SmallInt => (Physical::INT32, Some(int(16)), Values::I32(Vec::new())),
        HiveType::Int => (Physical::INT32, None, Values::I32(Vec::new())),
        HiveType::BigInt => (Physical::INT64, None, Values::I64(Vec::new())),
        HiveType::Float => (Physical::FLOAT, None, Values::F32(Vec::new())),
        HiveType::Double => (Physical::DOUBLE, None, Values::F64(Vec::new())),
        HiveType::String => (
            Physical::BYTE_ARRAY,
            Some(LogicalType::String),
            Values::Bytes(Vec::new()),
        ),
        HiveType::Binary => (Physical::BYTE_ARRAY, None, Values::Bytes(Vec::new())),
        HiveType::Date => (
            Physical::INT32,
            Some(LogicalType::Date),
            Values::I32(Vec::new()),
        ),
        HiveType::Timestamp => (Physical::INT96, None, Values::I96(Vec::new())),
        HiveType::Decimal { precision, scale } => {
            let len = fixed_len(*precision);
            let field = Type::primitive_type_builder(name, Physical::FIXED_LEN_BYTE_ARRAY)
                .with_repetition(repetition)
                .with_length(len as i32)
                .with_precision(i32::from(*precision))
                .with_scale(i32::from(*scale))
                .with_logical_type(Some(LogicalType::Decimal(DecimalType {
                    scale: i32::from(*scale),
                    precision: i32::from(*precision),
                })))
                .build()
                .map_err(|e| e.to_string())?;
            return Ok((Arc::new(field), Values::Fixed(Vec::new(), len)));
        }
        nested => return Err(format!("{nested:?} is not a primitive type")),
    };
    let field = Type::primitive_type_builder(name, physical)
        .with_repetition(repetition)
        .with_logical_type(logical)
        .build()
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(field), values))
}

/// Appends `cell`'s values and levels under `node`. `def` is the definition level of the
/// node's parent when present, `rep` the repetition level of this value, `depth` the number
/// of repeated groups above the node.
fn shred(
    node: &Node,
    cell: &Cell,
    rep: i16,
    def: i16,
    depth: i16,
    leaves: &mut [Leaf],
) -> Result<(), String> {
    match (node, cell) {
        (_, Cell::Null) => nulls(node, rep, def, leaves),
        (Node::Leaf(i), cell) => push(&mut leaves[*i], cell, rep, def + 1),
        (Node::Struct(members), Cell::Struct(cells)) => {
            for (member, cell) in members.iter().zip(cells) {
                shred(member, cell, rep, def + 1, depth, leaves)?;
            }
            Ok(())
        }
        (Node::List(element), Cell::List(items)) => {
            if items.is_empty() {
                return nulls(element, rep, def + 1, leaves);
            }
            for (n, item) in items.iter().enumerate() {
                let r = if n == 0 { rep } else { depth + 1 };
                shred(element, item, r, def + 2, depth + 1, leaves)?;
            }
            Ok(())
        }
        (Node::Map(key, value), Cell::Map(entries)) => {
            if entries.is_empty() {
                push_levels(&mut leaves[*key], rep, def + 1);
                return nulls(value, rep, def + 1, leaves);
            }
            for (n, (k, v)) in entries.iter().enumerate() {
                let r = if n == 0 { rep } else { depth + 1 };
                push(&mut leaves[*key], k, r, def + 2)?;
                shred(value, v, r, def + 2, depth + 1, leaves)?;
            }
            Ok(())
        }
        _ => Err("a value does not match its column's shape".into()),
    }
}

/// A null (or an absent or empty container) at `def` for every leaf under `node`.
fn nulls(node: &Node, rep: i16, def: i16, leaves: &mut [Leaf]) -> Result<(), String> {
    match node {
        Node::Leaf(i) => push_levels(&mut leaves[*i], rep, def),
        Node::Struct(members) => {
            for member in members {
                nulls(member, rep, def, leaves)?;
            }
        }
        Node::List(element) => nulls(element, rep, def, leaves)?,
        Node::Map(key, value) => {
            push_levels(&mut leaves[*key], rep, def);
            nulls(value, rep, def, leaves)?;
        }
    }
    Ok(())
}

/// The levels of one value (or null) of `leaf`.
fn push_levels(leaf: &mut Leaf, rep: i16, def: i16) {
    leaf.reps.push(rep);
    leaf.defs.push(def);
}

fn push(leaf: &mut Leaf, cell: &Cell, rep: i16, def: i16) -> Result<(), String> {
    match (&mut leaf.values, cell) {
        (Values::Bool(v), Cell::Bool(b)) => v.push(*b),
        (Values::I32(v), Cell::Int(n)) => v.push(i32::try_from(*n).map_err(|e| e.to_string())?),
        (Values::I32(v), Cell::Date(d)) => v.push(*d),
        (Values::I64(v), Cell::Int(n)) => v.push(*n),
        (Values::F32(v), Cell::Float(f)) => v.push(*f),
        (Values::F64(v), Cell::Double(f)) => v.push(*f),
        (Values::Bytes(v), Cell::Bytes(b)) => v.push(ByteArray::from(b.clone())),
        (Values::Fixed(v, len), Cell::Decimal(d)) => {
            v.push(FixedLenByteArray::from(to_fixed(*d, *len)))
        }
        (Values::I96(v), Cell::Timestamp(nanos)) => v.push(int96(*nanos)),
        _ => return Err("a value does not match its column's type".into()),
    }
    push_levels(leaf, rep, def);
    Ok(())
}

/// Julian day of 1970-01-01.
const JULIAN_EPOCH_DAY: i64 = 2_440_588;
const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// Hive's INT96 timestamp: nanoseconds of the day (little-endian, two words), Julian day.
fn int96(nanos: i64) -> Int96 {
    let day = nanos.div_euclid(NANOS_PER_DAY) + JULIAN_EPOCH_DAY;
    let of_day = nanos.rem_euclid(NANOS_PER_DAY) as u64;
    let mut v = Int96::new();
    v.set_data(of_day as u32, (of_day >> 32) as u32, day as u32);
    v
}

fn write_leaf(writer: &mut ColumnWriter<'_>, leaf: &Leaf) -> parquet::errors::Result<usize> {
    let (defs, reps) = (Some(&leaf.defs[..]), Some(&leaf.reps[..]));
    match (writer, &leaf.values) {
        (ColumnWriter::BoolColumnWriter(w), Values::Bool(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::Int32ColumnWriter(w), Values::I32(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::Int64ColumnWriter(w), Values::I64(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::FloatColumnWriter(w), Values::F32(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::DoubleColumnWriter(w), Values::F64(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::ByteArrayColumnWriter(w), Values::Bytes(v)) => w.write_batch(v, defs, reps),
        (ColumnWriter::FixedLenByteArrayColumnWriter(w), Values::Fixed(v, _)) => {
            w.write_batch(v, defs, reps)
        }
        (ColumnWriter::Int96ColumnWriter(w), Values::I96(v)) => w.write_batch(v, defs, reps),
        _ => Err(parquet::errors::ParquetError::General(
            "a leaf's values do not match its column writer".into(),
        )),
    }
}
