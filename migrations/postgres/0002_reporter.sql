-- reporter: pairs of cases an analyst split apart. Automatic grouping never merges such a pair
-- again, even when the two still share an indicator; an explicit manual merge removes the pair.
-- Rows are rewritten when one side is merged into a third case.
CREATE TABLE case_apart (
    case_a     BIGINT NOT NULL REFERENCES cases (id),
    case_b     BIGINT NOT NULL REFERENCES cases (id),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (case_a, case_b)
);
CREATE INDEX case_apart_b ON case_apart (case_b);
CREATE INDEX cases_merged_into ON cases (merged_into);
