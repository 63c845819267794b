-- Xet storage: chunks grouped in xorbs, files reconstructed from chunk ranges of xorbs.

-- One row per stored xorb. Its bytes live in blob storage under blob_sha256; meta holds the chunk
-- hashes, their byte boundaries and unpacked sizes (from the verified footer). touched_at moves when
-- an upload may come to reference the xorb (upload, dedup answer, a file using it), so garbage
-- collection spares it for its grace period.
CREATE TABLE xet_xorbs (
    hash TEXT PRIMARY KEY,
    blob_sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    meta BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    touched_at INTEGER NOT NULL
);

-- The global dedup index: chunk hash -> the xorb that holds it.
CREATE TABLE xet_dedup_chunks (
    chunk_hash TEXT PRIMARY KEY,
    xorb_hash TEXT NOT NULL REFERENCES xet_xorbs (hash) ON DELETE CASCADE
);
CREATE INDEX xet_dedup_chunks_xorb ON xet_dedup_chunks (xorb_hash);

-- Verified files: the Xet file hash, the SHA-256 a commit refers to, and the reconstruction terms.
CREATE TABLE xet_files (
    file_hash TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    terms BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX xet_files_sha256 ON xet_files (sha256);

-- Which xorbs each file needs; a xorb referenced here is never collected.
CREATE TABLE xet_file_xorbs (
    file_hash TEXT NOT NULL REFERENCES xet_files (file_hash) ON DELETE CASCADE,
    xorb_hash TEXT NOT NULL REFERENCES xet_xorbs (hash) ON DELETE RESTRICT,
    PRIMARY KEY (file_hash, xorb_hash)
);
CREATE INDEX xet_file_xorbs_xorb ON xet_file_xorbs (xorb_hash);
CREATE INDEX repo_lfs_objects_sha256 ON repo_lfs_objects (sha256);
