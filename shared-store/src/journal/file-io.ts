// Placeholder: the injectable file I/O the journal writes through (being written).
export interface FileIO {}
