"""Small invented fact tables for the ``table_lookup`` family of :mod:`mosaic.data.verifiable`.

Every name, place and number here is made up, so a lookup task can only be answered from
the table that the task itself shows; no world knowledge helps or hurts. Cells are stored as
the exact strings that appear in the rendered table (and therefore in canonical answers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True, slots=True)
class FactTable:
    """A small table: the first column names the entity and is unique.

    ``phrases[i]`` is how a question refers to column ``i`` ("founding year" for the
    column ``founded``); ``entity`` is the singular noun for one row ("town").
    """

    name: str
    entity: str
    columns: tuple[str, ...]
    phrases: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def render(self, rows: Sequence[int] | None = None) -> str:
        """The header and the chosen rows (all, in order, by default) as ``a | b | c`` lines."""
        picked = range(len(self.rows)) if rows is None else rows
        lines = [" | ".join(self.columns)]
        lines.extend(" | ".join(self.rows[i]) for i in picked)
        return "\n".join(lines)

    def unique_columns(self) -> tuple[int, ...]:
        """Indexes of non-key columns whose values identify a row (usable for reverse lookups)."""
        return tuple(c for c in range(1, len(self.columns))
                     if len({r[c] for r in self.rows}) == len(self.rows))


TOWNS = FactTable(
    name="towns",
    entity="town",
    columns=("town", "region", "population", "founded"),
    phrases=("name", "region", "population", "founding year"),
    rows=(
        ("Brindlemoor", "Eastreach", "12480", "1732"),
        ("Qualloway", "Lowfen", "3915", "1688"),
        ("Tessick Ford", "Highcairn", "27060", "1804"),
        ("Ombervale", "Eastreach", "8342", "1651"),
        ("Pellinsgate", "North March", "45117", "1599"),
        ("Wrexcombe", "Lowfen", "1276", "1867"),
        ("Harrowdene", "Highcairn", "19803", "1745"),
        ("Saltmire", "North March", "6031", "1712"),
        ("Corvindale", "Eastreach", "33529", "1623"),
        ("Ludgrove", "Lowfen", "10994", "1780"),
        ("Fennick Cross", "Highcairn", "2458", "1893"),
        ("Yarrowick", "North March", "15670", "1826"),
        ("Glimsby Reach", "Eastreach", "7185", "1764"),
    ),
)

PRODUCTS = FactTable(
    name="products",
    entity="product",
    columns=("product", "category", "price (USD)", "weight (g)"),
    phrases=("name", "category", "price in US dollars", "weight in grams"),
    rows=(
        ("Zentro Kettle", "kitchen", "34.90", "1180"),
        ("Lumafold Lamp", "lighting", "22.50", "640"),
        ("Brackwell Mug", "kitchen", "8.75", "310"),
        ("Orbisk Speaker", "audio", "59.00", "455"),
        ("Tallow Desk Fan", "appliances", "27.40", "1520"),
        ("Quenby Notebook", "stationery", "4.20", "185"),
        ("Fistral Headset", "audio", "71.35", "270"),
        ("Mirrow Toaster", "kitchen", "41.80", "1960"),
        ("Dunnel Pen Set", "stationery", "12.60", "95"),
        ("Gleamix Bulb", "lighting", "3.15", "58"),
        ("Corvath Heater", "appliances", "88.00", "2730"),
        ("Pipley Backpack", "travel", "46.25", "820"),
        ("Ravelle Pillow", "travel", "19.99", "390"),
    ),
)

EMPLOYEES = FactTable(
    name="employees",
    entity="employee",
    columns=("employee", "department", "office", "start year"),
    phrases=("name", "department", "office number", "start year"),
    rows=(
        ("Orla Venkett", "Finance", "214", "2011"),
        ("Tamsin Quorley", "Research", "318", "2016"),
        ("Dario Felmstead", "Logistics", "105", "2008"),
        ("Imke Sarrowby", "Research", "322", "2019"),
        ("Bastien Ulrow", "Sales", "127", "2013"),
        ("Nadira Polcombe", "Finance", "209", "2021"),
        ("Efrem Tullagh", "Legal", "431", "2005"),
        ("Wren Abernash", "Sales", "133", "2017"),
        ("Kasimir Dovell", "Logistics", "112", "2010"),
        ("Liesl Marrowgate", "Legal", "426", "2014"),
        ("Ottilie Brisk", "Research", "305", "2022"),
        ("Cyprian Hale-Dunmore", "Finance", "220", "2007"),
    ),
)

STARSHIPS = FactTable(
    name="starships",
    entity="ship",
    columns=("ship", "captain", "crew", "launched"),
    phrases=("name", "captain", "crew size", "launch year"),
    rows=(
        ("Veridian Dawn", "Halvard Crane", "212", "2291"),
        ("Morrow's Lantern", "Sefa Okonjo-Reyes", "48", "2304"),
        ("Quillon", "Brannoch Tey", "135", "2276"),
        ("Sable Meridian", "Ysolde Farrant", "87", "2310"),
        ("Ember Ascendant", "Marek Olsteyn", "304", "2288"),
        ("Tidewright", "Priya Vandersloot", "26", "2299"),
        ("Corran's Hope", "Idris Mallaby", "161", "2283"),
        ("Lattice Nine", "Junia Perrault", "73", "2317"),
        ("Osprey Vigil", "Teodor Brannigan", "119", "2295"),
        ("Halcyon Drift", "Maeve Thornquist", "58", "2302"),
        ("Argent Wake", "Rufus Elderkin", "246", "2279"),
    ),
)

TABLES: tuple[FactTable, ...] = (TOWNS, PRODUCTS, EMPLOYEES, STARSHIPS)


def get_table(name: str) -> FactTable:
    for table in TABLES:
        if table.name == name:
            return table
    raise KeyError(f"unknown fact table {name!r}; known: {', '.join(t.name for t in TABLES)}")
