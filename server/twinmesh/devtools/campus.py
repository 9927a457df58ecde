"""The seeded "campus" workload of PERFORMANCE.md, typed by the models in ``ontology/``.

One tenant owns one campus: Campus -> Building -> Floor -> Room. Per room a VAV box (2 points),
a light and 3 sensors (temperature, CO2, occupancy); per floor an AHU (2 points) and an
electricity meter. Every twin carries about 12 properties (~350 bytes of compact JSON).

Edges per room (10): floor hasPart room; room isLocationOf VAV and light; room hasPoint each of
its 3 sensors; VAV hasPoint its 2 points; AHU feeds VAV; VAV serves room.
Edges per floor (7): building hasPart floor; floor isLocationOf AHU and meter; AHU hasPoint its
2 points; AHU serves floor; meter isMeterOf floor. Edges per building (1): campus hasPart it.

Output depends only on ``(tenant, buildings, floors, rooms, seed)``: one ``random.Random`` is
seeded from the seed and the tenant name (string seeds hash with SHA-512, so this does not
depend on ``PYTHONHASHSEED``), and no clock is read.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from twinmesh.domain import JSONObject

DTMI_PREFIX = "dtmi:twinmesh:building:"


def dtmi(interface: str) -> str:
    """The DTMI of one of twinmesh's sample interfaces, e.g. ``dtmi("Room")``."""
    return f"{DTMI_PREFIX}{interface};1"


CAMPUS = dtmi("Campus")
BUILDING = dtmi("Building")
FLOOR = dtmi("Floor")
OFFICE = dtmi("Office")
MEETING_ROOM = dtmi("MeetingRoom")
RESTROOM = dtmi("Restroom")
AHU = dtmi("AirHandlingUnit")
VAV = dtmi("VAVBox")
LIGHT = dtmi("Light")
ELECTRICITY_METER = dtmi("ElectricityMeter")
TEMPERATURE_SENSOR = dtmi("TemperatureSensor")
CO2_SENSOR = dtmi("CO2Sensor")
OCCUPANCY_SENSOR = dtmi("OccupancySensor")
AIRFLOW_SENSOR = dtmi("AirflowSensor")
TEMPERATURE_SETPOINT = dtmi("TemperatureSetpoint")
PRESSURE_SETPOINT = dtmi("PressureSetpoint")

#: scale -> (tenants, buildings per tenant, floors per building, rooms per floor)
SCALES: dict[str, tuple[int, int, int, int]] = {
    "S": (5, 3, 4, 20),
    "M": (10, 6, 10, 20),
    "L": (40, 15, 10, 20),
}


@dataclass(slots=True)
class Twin:
    """A twin as the import path sees it: properties and component bags, no metadata."""

    id: str
    model: str
    properties: JSONObject
    components: dict[str, JSONObject] = field(default_factory=dict)

    def as_dict(self) -> JSONObject:
        """The shape of GraphQL ``CreateTwinInput``."""
        components: JSONObject = {name: dict(bag) for name, bag in self.components.items()}
        return {
            "id": self.id,
            "model": self.model,
            "properties": dict(self.properties),
            "components": components,
        }


@dataclass(slots=True)
class Relationship:
    """A directed, named edge; ``name`` is declared in the source twin's model."""

    id: str
    source_id: str
    name: str
    target_id: str
    properties: JSONObject = field(default_factory=dict)

    def as_dict(self) -> JSONObject:
        """The shape of GraphQL ``CreateRelationshipInput``."""
        return {
            "sourceId": self.source_id,
            "id": self.id,
            "name": self.name,
            "targetId": self.target_id,
            "properties": dict(self.properties),
        }


@dataclass(slots=True)
class Campus:
    """One tenant's campus graph."""

    tenant: str
    twins: list[Twin]
    relationships: list[Relationship]


_CITIES = (
    ("Lyon", "FR", "Europe/Paris", 45.76, 4.84),
    ("Leeds", "GB", "Europe/London", 53.80, -1.55),
    ("Porto", "PT", "Europe/Lisbon", 41.15, -8.61),
    ("Graz", "AT", "Europe/Vienna", 47.07, 15.44),
    ("Aarhus", "DK", "Europe/Copenhagen", 56.16, 10.20),
    ("Utrecht", "NL", "Europe/Amsterdam", 52.09, 5.12),
)
_STREETS = ("Station Road", "Mill Lane", "Harbour Street", "Park Avenue", "Church Street")
_MANUFACTURERS: dict[str, tuple[str, ...]] = {
    "ahu": ("Klimagerat AG", "Nordair Systems", "Ventura HVAC"),
    "vav": ("Airflow Dynamics", "Terminal Tech", "Ventura HVAC"),
    "light": ("Lumen Works", "Brightline", "Photon Fixtures"),
    "meter": ("Kilowatt Instruments", "Metrix Energy"),
    "sensor": ("Sensetek", "Aeris Devices", "Probe & Co"),
}
_DEPARTMENTS = ("Finance", "Engineering", "Sales", "Legal", "Operations", "Research")
_PRIMARY_USES = ("office", "laboratory", "teaching", "mixed use")
_ACCESS = ("public", "staff", "restricted")
_ASSET_STATUS = ("operational", "operational", "operational", "maintenance", "faulty")
_QUALITY = ("good", "good", "good", "uncertain", "bad")
_HVAC_MODES = ("auto", "auto", "heating", "cooling", "ventilation")
_THERMOSTAT_MODES = ("auto", "heat", "cool", "off")
_ROOM_KINDS = (
    (OFFICE, "Office", 0.6),
    (MEETING_ROOM, "Meeting room", 0.3),
    (RESTROOM, "Restroom", 0.1),
)
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


class _Values:
    """Seeded property-value helpers; one per campus."""

    def __init__(self, rng: random.Random, tenant: str) -> None:
        self.rng = rng
        self.tenant = tenant
        self.object_no = 1000

    def hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}X}"

    def day(self, first_year: int, last_year: int) -> str:
        start = date(first_year, 1, 1).toordinal()
        end = date(last_year, 12, 31).toordinal()
        return date.fromordinal(self.rng.randint(start, end)).isoformat()

    def instant(self) -> str:
        moment = _EPOCH + timedelta(seconds=self.rng.randrange(180 * 86400))
        return moment.isoformat().replace("+00:00", "Z")

    def num(self, low: float, high: float, digits: int = 1) -> float:
        return round(self.rng.uniform(low, high), digits)

    def entity(self, name: str, kind: str, zone: str) -> JSONObject:
        tags: JSONObject = {"kind": kind, "zone": zone}
        return {"name": name, "externalId": f"ext-{self.hex(12).lower()}", "tags": tags}

    def space(self, area: float, capacity: int, code: str) -> JSONObject:
        return {
            "area": area,
            "personCapacity": capacity,
            "spaceCode": code,
            "accessLevel": self.rng.choice(_ACCESS),
        }

    def asset(self, kind: str, prefix: str) -> JSONObject:
        return {
            "serialNumber": f"{prefix}-{self.hex(10)}",
            "manufacturer": self.rng.choice(_MANUFACTURERS[kind]),
            "modelNumber": f"{prefix}{self.rng.randint(100, 999)}",
            "installedOn": self.day(2012, 2024),
            "status": self.rng.choice(_ASSET_STATUS),
        }

    def equipment(self, kind: str, prefix: str) -> JSONObject:
        props = self.asset(kind, prefix)
        props["maintenanceInterval"] = self.rng.choice(("P3M", "P6M", "P1Y"))
        props["lastServicedOn"] = self.day(2024, 2025)
        return props

    def nameplate(self, power: tuple[float, float], weight: tuple[float, float]) -> JSONObject:
        return {
            "ratedPower": self.num(*power, digits=2),
            "ratedVoltage": self.rng.choice((230.0, 400.0)),
            "weight": self.num(*weight),
            "yearOfManufacture": self.rng.randint(2011, 2024),
        }

    def point(self, object_type: str) -> JSONObject:
        self.object_no += 1
        return {
            "bacnetObjectId": f"{object_type}:{self.object_no}",
            "samplingInterval": self.rng.choice(("PT30S", "PT1M", "PT5M")),
            "lastUpdatedAt": self.instant(),
            "quality": self.rng.choice(_QUALITY),
        }

    def sensor(self, accuracy: float) -> JSONObject:
        props = self.point("analog-input")
        props["accuracy"] = accuracy
        props["calibratedOn"] = self.day(2023, 2025)
        return props

    def setpoint(self) -> JSONObject:
        props = self.point("analog-value")
        props["priority"] = self.rng.choice((8, 10, 16))
        props["overridden"] = self.rng.random() < 0.05
        return props


class _Builder:
    def __init__(self, tenant: str, seed: int) -> None:
        rng = random.Random(f"twinmesh-campus:{seed}:{tenant}")  # noqa: S311 - workload, not secrets
        self.values = _Values(rng, tenant)
        self.twins: list[Twin] = []
        self.relationships: list[Relationship] = []

    def twin(
        self,
        twin_id: str,
        model: str,
        properties: JSONObject,
        components: dict[str, JSONObject] | None = None,
    ) -> str:
        self.twins.append(Twin(twin_id, model, properties, components or {}))
        return twin_id

    def link(
        self, source: str, name: str, target: str, properties: JSONObject | None = None
    ) -> None:
        rel_id = f"{source}.{name}.{target}"
        self.relationships.append(Relationship(rel_id, source, name, target, properties or {}))

    def campus(self, buildings: int, floors: int, rooms: int) -> None:
        v = self.values
        city, country, tz, lat, lon = v.rng.choice(_CITIES)
        campus_props = v.entity(f"{city} campus", "campus", "site")
        campus_props |= v.space(v.num(20_000, 90_000, 0), buildings * floors * rooms * 6, "C1")
        campus_props |= {
            "operatorName": f"{self.values.tenant} facilities",
            "timeZone": tz,
            "location": {
                "latitude": v.num(lat, lat + 0.05, 4),
                "longitude": v.num(lon, lon + 0.05, 4),
            },
            "openedOn": v.day(1990, 2015),
        }
        campus = self.twin("campus", CAMPUS, campus_props)
        for b in range(1, buildings + 1):
            building = self.building(b, floors, rooms, city, country)
            self.link(campus, "hasPart", building)

    def building(self, b: int, floors: int, rooms: int, city: str, country: str) -> str:
        v = self.values
        props = v.entity(f"Building {b}", "building", f"b{b}")
        props |= v.space(v.num(2_000, 12_000, 0), floors * rooms * 6, f"B{b:02d}")
        props |= {
            "address": {
                "street": f"{v.rng.randint(1, 250)} {v.rng.choice(_STREETS)}",
                "city": city,
                "postcode": f"{v.rng.randint(10000, 99999)}",
                "country": country,
            },
            "yearBuilt": v.rng.randint(1965, 2022),
            "floorsAboveGround": floors,
            "energyRating": v.rng.choice("ABCDE"),
            "primaryUse": v.rng.choice(_PRIMARY_USES),
        }
        building = self.twin(f"b{b}", BUILDING, props)
        for f in range(1, floors + 1):
            floor = self.floor(b, f, rooms)
            self.link(building, "hasPart", floor)
        return building

    def floor(self, b: int, f: int, rooms: int) -> str:
        v = self.values
        floor_id = f"b{b}-f{f}"
        props = v.entity(f"Building {b} level {f}", "floor", floor_id)
        props |= v.space(v.num(600, 2_000, 0), rooms * 6, f"B{b:02d}-L{f:02d}")
        props |= {
            "levelNumber": f - 1,
            "elevation": round((f - 1) * 3.6, 1),
            "ceilingHeight": v.num(2.6, 3.2, 2),
            "floorPlanUri": f"https://plans.example/{floor_id}.pdf",
        }
        floor = self.twin(floor_id, FLOOR, props)
        ahu = self.ahu(floor_id)
        meter = self.meter(floor_id)
        self.link(floor, "isLocationOf", ahu)
        self.link(floor, "isLocationOf", meter)
        self.link(ahu, "serves", floor, {"since": v.day(2012, 2020)})
        self.link(meter, "isMeterOf", floor)
        for r in range(1, rooms + 1):
            room = self.room(floor_id, b, f, r)
            self.link(floor, "hasPart", room)
            self.room_equipment(room, ahu)
        return floor

    def ahu(self, floor_id: str) -> str:
        v = self.values
        ahu_id = f"{floor_id}-ahu"
        props = v.entity(f"AHU {floor_id}", "ahu", floor_id)
        props |= v.equipment("ahu", "AHU")
        props |= {
            "operatingMode": v.rng.choice(_HVAC_MODES),
            "nominalAirflow": v.num(8_000, 30_000, 0),
        }
        nameplate = v.nameplate((7.5, 45.0), (900, 4_000))
        ahu = self.twin(ahu_id, AHU, props, {"nameplate": nameplate})
        sat_props = v.entity(f"AHU {floor_id} supply air temperature", "sensor", floor_id)
        sat_props |= v.sensor(0.2)
        sat_props |= {"temperature": v.num(14, 19), "calibrationOffset": v.num(-0.3, 0.3, 2)}
        sp_props = v.entity(f"AHU {floor_id} static pressure setpoint", "setpoint", floor_id)
        sp_props |= v.setpoint()
        sp_props |= {"staticPressureSetpoint": v.num(200, 450, 0), "pressureTolerance": 25.0}
        self.link(ahu, "hasPoint", self.twin(f"{ahu_id}-sat", TEMPERATURE_SENSOR, sat_props))
        self.link(ahu, "hasPoint", self.twin(f"{ahu_id}-sp", PRESSURE_SETPOINT, sp_props))
        return ahu

    def meter(self, floor_id: str) -> str:
        v = self.values
        props = v.entity(f"Electricity meter {floor_id}", "meter", floor_id)
        props |= v.equipment("meter", "EM")
        props |= {
            "isMainMeter": False,
            "activeEnergy": v.num(10_000, 900_000, 1),
            "activePower": v.num(5, 120, 2),
        }
        nameplate = v.nameplate((0.002, 0.01), (0.3, 1.2))
        return self.twin(f"{floor_id}-meter", ELECTRICITY_METER, props, {"nameplate": nameplate})

    def room(self, floor_id: str, b: int, f: int, r: int) -> str:
        v = self.values
        model, label, _ = v.rng.choices(_ROOM_KINDS, weights=[k[2] for k in _ROOM_KINDS])[0]
        room_id = f"{floor_id}-r{r}"
        number = f"{b}.{f - 1}.{r:02d}"
        props = v.entity(f"{label} {number}", "room", floor_id)
        area = v.num(8, 60)
        props |= v.space(area, max(1, int(area / 6)), f"B{b:02d}-{f - 1:02d}{r:02d}")
        props |= {
            "roomNumber": number,
            "bookable": model == MEETING_ROOM,
            "lastCleanedAt": v.instant(),
        }
        if model == OFFICE:
            props |= {"deskCount": max(1, int(area / 8)), "department": v.rng.choice(_DEPARTMENTS)}
        elif model == MEETING_ROOM:
            props |= {"videoConferencing": v.rng.random() < 0.7, "calendarId": f"cal-{v.hex(8)}"}
        else:
            props |= {"fixtureCount": v.rng.randint(2, 8), "wheelchairAccessible": True}
        thermostat: JSONObject = {
            "temperatureSetpoint": v.num(19.5, 23.5),
            "mode": v.rng.choice(_THERMOSTAT_MODES),
            "displayLocked": v.rng.random() < 0.2,
        }
        return self.twin(room_id, model, props, {"thermostat": thermostat})

    def room_equipment(self, room_id: str, ahu: str) -> None:
        v = self.values
        vav_props = v.entity(f"VAV {room_id}", "vav", room_id)
        vav_props |= v.equipment("vav", "VAV")
        max_flow = v.num(80, 400, 0)
        vav_props |= {
            "operatingMode": v.rng.choice(_HVAC_MODES),
            "maxAirflow": max_flow,
            "minAirflow": round(max_flow * 0.3, 0),
        }
        vav = self.twin(
            f"{room_id}-vav", VAV, vav_props, {"nameplate": v.nameplate((0.01, 0.2), (8, 30))}
        )
        flow_props = v.entity(f"VAV {room_id} airflow", "sensor", room_id)
        flow_props |= v.sensor(2.5)
        flow_props |= {"airflow": v.num(20, max_flow), "kFactor": v.num(0.6, 1.4, 3)}
        sp_props = v.entity(f"VAV {room_id} zone temperature setpoint", "setpoint", room_id)
        sp_props |= v.setpoint()
        sp_props |= {"temperatureSetpoint": v.num(20, 23), "deadband": 1.0}
        self.link(vav, "hasPoint", self.twin(f"{vav}-airflow", AIRFLOW_SENSOR, flow_props))
        self.link(vav, "hasPoint", self.twin(f"{vav}-sp", TEMPERATURE_SETPOINT, sp_props))
        self.link(ahu, "feeds", vav, {"since": v.day(2012, 2024), "medium": "air"})
        self.link(vav, "serves", room_id, {"since": v.day(2012, 2024)})
        self.link(room_id, "isLocationOf", vav)

        light_props = v.entity(f"Light {room_id}", "light", room_id)
        light_props |= v.equipment("light", "LUM")
        on = v.rng.random() < 0.5
        light_props |= {
            "switchedOn": on,
            "dimLevel": v.num(30, 100, 0) if on else 0.0,
            "colorTemperature": v.rng.choice((3000.0, 4000.0, 5000.0)),
        }
        light = self.twin(
            f"{room_id}-light", LIGHT, light_props, {"nameplate": v.nameplate((0.02, 0.2), (1, 8))}
        )
        self.link(room_id, "isLocationOf", light)

        temp_props = v.entity(f"{room_id} temperature", "sensor", room_id)
        temp_props |= v.sensor(0.3)
        temp_props |= {"temperature": v.num(18, 26), "calibrationOffset": 0.0}
        co2_props = v.entity(f"{room_id} CO2", "sensor", room_id)
        co2_props |= v.sensor(30.0)
        co2_props |= {"co2Concentration": v.num(400, 1_400, 0), "alarmThreshold": 1_000.0}
        occ_props = v.entity(f"{room_id} occupancy", "sensor", room_id)
        occ_props |= v.sensor(1.0)
        people = v.rng.choice((0, 0, 0, 1, 2, 3, 5, 8))
        occ_props |= {
            "occupancyState": "occupied" if people else "unoccupied",
            "peopleCount": people,
        }
        self.link(room_id, "hasPoint", self.twin(f"{room_id}-temp", TEMPERATURE_SENSOR, temp_props))
        self.link(room_id, "hasPoint", self.twin(f"{room_id}-co2", CO2_SENSOR, co2_props))
        self.link(room_id, "hasPoint", self.twin(f"{room_id}-occ", OCCUPANCY_SENSOR, occ_props))


def generate_campus(tenant: str, *, buildings: int, floors: int, rooms: int, seed: int) -> Campus:
    """Generate one tenant's campus; same arguments, same twins and relationships."""
    if min(buildings, floors, rooms) < 1:
        raise ValueError("buildings, floors and rooms must each be at least 1")
    builder = _Builder(tenant, seed)
    builder.campus(buildings, floors, rooms)
    return Campus(tenant, builder.twins, builder.relationships)


def tenant_name(index: int) -> str:
    """The tenant id used by :func:`iter_scale` for the ``index``-th tenant (0-based)."""
    return f"tenant-{index + 1:02d}"


def iter_scale(scale: str, seed: int) -> Iterator[tuple[str, Campus]]:
    """Yield ``(tenant, campus)`` for each tenant of a scale of ``SCALES`` (S, M or L)."""
    try:
        tenants, buildings, floors, rooms = SCALES[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}") from None
    for index in range(tenants):
        tenant = tenant_name(index)
        yield (
            tenant,
            generate_campus(tenant, buildings=buildings, floors=floors, rooms=rooms, seed=seed),
        )
