-- The TravelTide source tables, with the real database's column names, order, types and primary keys.
-- Used by the synthetic loader; the schema tests compare the loaded catalogue with traveltide_assets.sources.contract.

CREATE TABLE public.users (
    user_id integer NOT NULL,
    birthdate date,
    gender text,
    married boolean,
    has_children boolean,
    home_country text,
    home_city text,
    home_airport text,
    home_airport_lat numeric,
    home_airport_lon numeric,
    sign_up_date date
);

CREATE TABLE public.sessions (
    session_id text NOT NULL,
    user_id integer,
    trip_id text,
    session_start timestamp,
    session_end timestamp,
    flight_discount boolean,
    hotel_discount boolean,
    flight_discount_amount numeric,
    hotel_discount_amount numeric,
    flight_booked boolean,
    hotel_booked boolean,
    page_clicks integer,
    cancellation boolean
);

CREATE TABLE public.flights (
    trip_id text NOT NULL,
    origin_airport text,
    destination text,
    destination_airport text,
    seats integer,
    return_flight_booked boolean,
    departure_time timestamp,
    return_time timestamp,
    checked_bags integer,
    trip_airline text,
    destination_airport_lat numeric,
    destination_airport_lon numeric,
    base_fare_usd numeric
);

CREATE TABLE public.hotels (
    trip_id text NOT NULL,
    hotel_name text,
    nights integer,
    rooms integer,
    check_in_time timestamp,
    check_out_time timestamp,
    hotel_per_room_usd numeric
);

-- The planted truth of a synthetic source, kept out of the public schema the pipeline reads.
CREATE TABLE synthetic_truth.ground_truth (
    user_id integer NOT NULL,
    favourite_perk text NOT NULL
);
