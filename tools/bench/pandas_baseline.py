"""The usual way this analysis is written: pandas.read_sql of whole tables, merges and groupbys in memory,
scikit-learn k-means, an argmax over simple perk scores. The benchmark's reference point, kept deliberately
ordinary (it is what peers write), not tuned."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sqlalchemy import create_engine

COHORT_START = "2023-01-04"
MIN_SESSIONS = 7


def run(url: str) -> pd.DataFrame:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    users = pd.read_sql("SELECT * FROM users", engine)
    sessions = pd.read_sql("SELECT * FROM sessions", engine)
    flights = pd.read_sql("SELECT * FROM flights", engine)
    hotels = pd.read_sql("SELECT * FROM hotels", engine)

    recent = sessions[sessions["session_start"] > COHORT_START]
    counts = recent.groupby("user_id").size()
    cohort = recent[recent["user_id"].isin(counts[counts > MIN_SESSIONS].index)]
    bookings = cohort[~cohort["cancellation"]]
    df = (
        bookings.merge(flights, on="trip_id", how="left")
        .merge(hotels, on="trip_id", how="left")
        .merge(users, on="user_id", how="left")
    )
    for column in (
        "base_fare_usd",
        "hotel_per_room_usd",
        "flight_discount_amount",
        "hotel_discount_amount",
        "home_airport_lat",
        "home_airport_lon",
        "destination_airport_lat",
        "destination_airport_lon",
    ):
        df[column] = df[column].astype(float)  # numeric arrives as Python Decimal objects
    df["session_minutes"] = (df["session_end"] - df["session_start"]).dt.total_seconds() / 60
    lat1, lon1 = np.radians(df["home_airport_lat"]), np.radians(df["home_airport_lon"])
    lat2, lon2 = np.radians(df["destination_airport_lat"]), np.radians(df["destination_airport_lon"])
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    df["distance_km"] = 2 * 6371 * np.arcsin(np.sqrt(a))
    df["bundle"] = df["flight_booked"] & df["hotel_booked"]
    df["hotel_only"] = df["hotel_booked"] & ~df["flight_booked"]
    df["discounted"] = df["flight_discount"] | df["hotel_discount"]

    features = df.groupby("user_id").agg(
        clicks=("page_clicks", "mean"),
        minutes=("session_minutes", "mean"),
        bookings=("trip_id", "count"),
        bags=("checked_bags", "mean"),
        seats=("seats", "mean"),
        nights=("nights", "mean"),
        rooms=("rooms", "mean"),
        fare=("base_fare_usd", "mean"),
        hotel_price=("hotel_per_room_usd", "mean"),
        distance=("distance_km", "mean"),
        bundle_rate=("bundle", "mean"),
        hotel_only_rate=("hotel_only", "mean"),
        discount_rate=("discounted", "mean"),
    )
    cancellations = cohort[cohort["cancellation"]].groupby("user_id").size()
    features["cancellation_rate"] = (cancellations / features["bookings"].replace(0, np.nan)).reindex(features.index)
    features = features.fillna(features.median())

    x = StandardScaler().fit_transform(features)
    features["segment"] = KMeans(n_clusters=5, n_init=10, random_state=0).fit_predict(x)
    z = pd.DataFrame(x, index=features.index, columns=features.columns[:-1])
    scores = pd.DataFrame(
        {
            "free_checked_bag": z["bags"],
            "no_cancellation_fees": z["cancellation_rate"],
            "exclusive_discounts": z["discount_rate"],
            "free_hotel_meal": z["hotel_only_rate"] + z["hotel_price"],
            "free_hotel_night_with_flight": z["bundle_rate"] + z["nights"],
        }
    )
    features["favourite_perk"] = scores.idxmax(axis=1)
    return features
