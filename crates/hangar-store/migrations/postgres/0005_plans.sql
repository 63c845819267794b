-- Plans: free or pro for users, free or enterprise (with paid seats) for organizations.
ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
ALTER TABLE orgs ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
ALTER TABLE orgs ADD COLUMN seats BIGINT NOT NULL DEFAULT 0;
