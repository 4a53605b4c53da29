-- PostgreSQL's 000015 holds what several nodes share (`cluster.nodo`); SQLite runs one node
-- alone, whose limits and replay memory live in its process. This keeps the two trees' names
-- in step.
SELECT 1;
