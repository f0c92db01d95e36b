"""Croissant 1.1 JSON-LD for a built dataset, derived from the declared schema.

Two forms. The local form (written by `build`) follows the Hub's own /croissant output (one `cr:Split`
record set per config plus one record set whose fields have `@id` `<config>/<column>`), with FileSets that
resolve relative to the JSON file, so `mlcroissant` reads a local build. The Hub form (written by `push`)
names every shard by its resolve URL at the pushed revision, with its sha256, so the file works fetched
alone. mlcroissant 1.1 reads remote Parquet only through a FileObject that a field sources directly (a
FileSet `containedIn` downloaded files is never read, and downloaded files lose their names, so a split
cannot come from the filename): the Hub form therefore has one record set per shard,
`<config>/<split>/<index>`, whose records together are the config's rows. RAI fields state sources,
licence chain and how filtering was evaluated, which reviewers of ACAV-1M found missing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import datasets

from builder.schema import ConfigSchema

if TYPE_CHECKING:
    from builder.release import ReleaseInfo
    from builder.result import BuildResult

CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
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
    from builder.card import dataset_bibtex, evaluation_statement

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
            f"{release.pretty_name}: audio-visual clips with condensed captions, {run.embedder} "
            "similarity scores (text-audio, text-visual, audio-visual instance and temporal) and one of six "
            "categories. Metadata only unless a `media` record set is present."
        ),
        "license": f"https://spdx.org/licenses/{release.annotation_license.upper()}.html",
        **({"url": release.homepage} if release.homepage else {}),
        "version": release.version,
        **({"datePublished": release.date_published} if release.date_published else {}),
        "citeAs": dataset_bibtex(release),
        "keywords": ["audio-visual", "video", "audio", "captions", "curation"]
        + ([run.embedder] if run.models.get("embedder") else []),
        "rai:dataCollection": release.sources,
        "rai:dataCollectionType": ["Web Scraping", "Others"],
        "rai:dataBiases": (
            "Captions are machine-written and inherit the captioners' and the summariser's biases; similarity "
            f"filtering favours content {run.embedder} represents well (music, vehicles, animals) over rarer sounds."
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
            "Versioned releases with RELEASE_NOTES.md (clips added, removed and changed, by reason). A takedown "
            "request adds the clip or video id to the removals file, and the next release, built with "
            "`acav1m build --exclude`, drops it from every config; see the card's maintenance section."
        ),
        "rai:machineAnnotationTools": sorted(f"{role}: {model}" for role, model in run.models.items()),
        "rai:hasSyntheticData": run.random_weights,
        "distribution": distribution,
        "recordSet": record_sets,
    }


def write_croissant(directory: Path, result: BuildResult, release: ReleaseInfo) -> Path:
    path = directory / "croissant.json"
    path.write_text(dumps(croissant_metadata(result, release)), encoding="utf-8")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_url(endpoint: str, repo_id: str, revision: str, path: str) -> str:
    return f"{endpoint.rstrip('/')}/datasets/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"


def hub_metadata(directory: Path, endpoint: str, repo_id: str, revision: str) -> dict[str, Any]:
    """The local croissant.json of `directory` rewritten to name its shards by URL at `revision`."""
    local = json.loads((directory / "croissant.json").read_text(encoding="utf-8"))
    metadata = {k: v for k, v in local.items() if k not in ("distribution", "recordSet")}
    metadata["url"] = f"{endpoint.rstrip('/')}/datasets/{repo_id}"
    record_sets = {rs["@id"]: rs for rs in local["recordSet"]}
    distribution, shard_sets = [], []
    for file_set in local["distribution"]:
        config = file_set["@id"].removeprefix(_file_set_id(""))
        template = record_sets[config]
        for pattern in file_set["includes"]:
            for index, shard in enumerate(sorted(directory.glob(pattern))):
                path = shard.relative_to(directory).as_posix()
                split = shard.name.split("-", 1)[0]
                distribution.append({
                    "@type": "cr:FileObject",
                    "@id": path,
                    "name": path,
                    "description": f"Shard {index} of the {split} split of the {config} config.",
                    "contentUrl": resolve_url(endpoint, repo_id, revision, path),
                    "contentSize": f"{shard.stat().st_size} B",
                    "encodingFormat": "application/x-parquet",
                    "sha256": _sha256(shard),
                })
                shard_sets.append(_shard_record_set(template, f"{config}/{split}/{index:05d}", path, split))
    metadata["distribution"] = distribution
    metadata["recordSet"] = shard_sets
    return metadata


def _shard_record_set(template: dict[str, Any], record_set: str, path: str, split: str) -> dict[str, Any]:
    fields = []
    for entry in template["field"]:
        column = entry["@id"].split("/", 1)[1]
        if column == "split":
            continue
        entry = copy.deepcopy(entry)
        entry["@id"] = entry["name"] = f"{record_set}/{column}"
        entry["source"] = {**entry["source"], "fileObject": {"@id": path}}
        del entry["source"]["fileSet"]
        fields.append(entry)
    return {
        "@type": "cr:RecordSet",
        "@id": record_set,
        "name": record_set,
        "description": f"{template['description']} Split {split}, one shard: {path}.",
        "field": fields,
    }


def dumps(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
