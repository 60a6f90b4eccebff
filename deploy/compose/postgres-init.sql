-- One database per node; run by the postgres image on its first start only.
CREATE DATABASE eng OWNER atrium;
CREATE DATABASE sales OWNER atrium;
