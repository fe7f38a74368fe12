-- Elderly care (issue 13): who lives in a home, as twin.households describes it.
-- All three NULL: the model says nothing about the household. A household
-- given in the model always has living_alone (default false) and care_level
-- (default 0); age_band may stay unknown.
ALTER TABLE units
    ADD COLUMN living_alone boolean,
    ADD COLUMN age_band text CHECK (age_band IN ('<60', '60-69', '70-79', '80+')),
    ADD COLUMN care_level smallint CHECK (care_level BETWEEN 0 AND 4),
    ADD CONSTRAINT units_household_whole
        CHECK ((living_alone IS NULL) = (care_level IS NULL)
               AND (age_band IS NULL OR living_alone IS NOT NULL));

-- Care homes (twin.households.Household.is_care_home), as ingest.care_sql finds them.
CREATE INDEX units_care_homes ON units (community_id)
    WHERE care_level > 0 OR age_band IN ('60-69', '70-79', '80+');
