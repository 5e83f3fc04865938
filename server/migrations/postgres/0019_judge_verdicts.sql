-- The judge's verdict a review confirmed or overrode, so agreement can be measured as Cohen's κ
-- (reviews kept before this column are counted in raw agreement only).
ALTER TABLE judge_reviews ADD COLUMN judge_passed BOOLEAN;
