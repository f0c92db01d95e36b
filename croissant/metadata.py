"""Croissant 1.1 JSON-LD for a built dataset, derived from the declared schema.

The shape follows the Hub's own /croissant output (one `cr:Split` record set per config plus one record
set whose fields have `@id` `<config>/<column>`), with FileSets that resolve relative to the JSON file
so `mlcroissant` can read a local build. RAI fields state sources, licence chain and how filtering was
evaluated, which reviewers of ACAV-1M found missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import datasets

from builder.schema import ConfigSchema

if TYPE_CHECKING:
    from builder.build import BuildResult
    from builder.release import ReleaseInfo

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

# Same mapping as the Hub's generator (datasets dtype -> Croissant dataType).
VALUE_TYPES = {
    "string": "sc:Text",
    "large_string": "sc:Text",
    "bool": "sc:Boolean",
    "float16": "cr:Float16",
    "float32": "cr:Float32",
    "float64": "cr:Float64",
    "int8": "cr:Int8",
    "int16": "cr:Int16",
    "int32": "cr:Int32",
    "int64": "cr:Int64",
    "uint8": "cr:UInt8",
    "uint16": "cr:UInt16",
    "uint32": "cr:UInt32",
    "uint64": "cr:UInt64",
}


def field_type(feature: object) -> tuple[str, bool, str | None]:
    """(dataType, isArray, jsonPath into the Parquet struct) for a datasets feature."""
    if isinstance(feature, datasets.Value):
        return VALUE_TYPES[feature.dtype], False, None
    if isinstance(feature, datasets.List):
        inner, _, _ = field_type(feature.feature)
        return inner, True, None
    if isinstance(feature, datasets.Audio):
        return "sc:AudioObject", False, "bytes"
    if isinstance(feature, datasets.Video):
        return "sc:VideoObject", False, "bytes"
    raise TypeError(f"no Croissant type for feature {feature!r}")


def _file_set_id(config: str) -> str:
    return f"parquet-files-for-config-{config}"


def _record_sets(schema: ConfigSchema, splits: list[str]) -> list[dict[str, Any]]:
    name = schema.name
    file_set = {"fileSet": {"@id": _file_set_id(name)}}
    split_set = f"{name}_splits"
    split_field = {
        "@type": "cr:Field",
        "@id": f"{name}/split",
        "dataType": "sc:Text",
        "source": {
            **file_set,
            "extract": {"fileProperty": "filename"},
            "transform": {"regex": "(train|test).*"},  # also applied to the bare split name
        },
        "references": {"field": {"@id": f"{split_set}/split_name"}},
    }
    fields = [split_field]
    for column in schema.columns:
        data_type, is_array, json_path = field_type(column.feature)
        source: dict[str, Any] = {**file_set, "extract": {"column": column.name}}
        if json_path:
            source["transform"] = {"jsonPath": json_path}
        entry = {
            "@type": "cr:Field",
            "@id": f"{name}/{column.name}",
            "name": f"{name}/{column.name}",
            "description": column.description,
            "dataType": data_type,
            "source": source,
        }
        if is_array:
            entry["isArray"] = True
            entry["arrayShape"] = "-1"
        fields.append(entry)
    return [
        {
            "@type": "cr:RecordSet",
            "dataType": "cr:Split",
            "key": {"@id": f"{split_set}/split_name"},
            "@id": split_set,
            "name": split_set,
            "description": f"Splits for the {name} config.",
            "field": [{"@type": "cr:Field", "@id": f"{split_set}/split_name", "dataType": "sc:Text"}],
            "data": [{f"{split_set}/split_name": split} for split in splits],
        },
        {
            "@type": "cr:RecordSet",
            "@id": name,
            "name": name,
            "description": schema.description,
            "field": fields,
        },
    ]


def croissant_metadata(result: BuildResult, release: ReleaseInfo) -> dict[str, Any]:
    """The JSON-LD document for a finished build."""
    from builder.card import evaluation_statement

    distribution, record_sets = [], []
    for name, split_shards in result.shards.items():
        schema = result.stats[name].schema
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": _file_set_id(name),
                "name": _file_set_id(name),
                "description": f"Parquet shards of the {name} config.",
                "encodingFormat": "application/x-parquet",
                "includes": [f"{schema.data_dir}/{split}-*.parquet" for split in split_shards],
            }
        )
        record_sets.extend(_record_sets(schema, sorted(split_shards)))
    run = release.run
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": release.name,
        "alternateName": [release.pretty_name],
        "description": (
            f"{release.pretty_name}: 10-second audio-visual clips with condensed captions, ImageBind "
            "similarity scores (text-audio, text-visual, audio-visual instance and temporal) and one of six "
            "categories. Metadata only unless a `media` record set is present."
        ),
        "license": f"https://spdx.org/licenses/{release.annotation_license.upper()}.html",
        **({"url": release.homepage} if release.homepage else {}),
        "version": release.version,
        **({"datePublished": release.date_published} if release.date_published else {}),
        "citeAs": (
            "@inproceedings{acav1m, title={ACAV-1M: Data Curation and Benchmarking for Audio-Visual "
            "Representation Learning}, year={2025}}"
        ),
        "keywords": ["audio-visual", "video", "audio", "captions", "ImageBind", "curation"],
        "rai:dataCollection": release.sources,
        "rai:dataCollectionType": ["Web Scraping", "Others"],
        "rai:dataBiases": (
            "Captions are machine-written and inherit the captioners' and the summariser's biases; similarity "
            "filtering favours content ImageBind represents well (music, vehicles, animals) over rarer sounds."
        ),
        "rai:dataLimitations": (
            f"{evaluation_statement(run)} Availability of source videos decays over time; timestamps refer to "
            "the source video as it was when curated."
        ),
        "rai:personalSensitiveInformation": (
            "Source videos may show or let one hear identifiable people. The summariser prompt forbids "
            "inventing identities. Takedown requests: " + release.contact
        ),
        "rai:dataUseCases": "Audio-visual representation learning, retrieval, classification and benchmarking.",
        "rai:dataSocialImpact": "Research use; not for identifying or profiling people.",
        "rai:dataReleaseMaintenancePlan": (
            "Versioned releases; clips are removed on takedown requests and in the next release; "
            "see the card's maintenance section."
        ),
        "rai:machineAnnotationTools": sorted(f"{role}: {model}" for role, model in run.models.items()),
        "rai:hasSyntheticData": run.random_weights,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def write_croissant(directory: Path, result: BuildResult, release: ReleaseInfo) -> Path:
    path = directory / "croissant.json"
    text = json.dumps(croissant_metadata(result, release), indent=2, ensure_ascii=False, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
