import { sql, type Kysely } from 'kysely';

// Images, and what an instance is launched with (issue 13 §1–2):
// - images: the catalog of machine images (OS, CUDA, frameworks, ports opened by default, the GPU
//   memory per GPU it needs). Operators add, change and retire them (admin CLI); never deleted,
//   since instances keep referring to theirs. The default set is inserted here, not by the catalog
//   seed: every instance needs an image, and the instances that exist already ran the base one
//   (Ubuntu 24.04 + CUDA 12.8 is what the machines booted), so it must exist with the column.
// - instances.image_id / ports / env_names / has_startup_script: what the instance was created
//   with, readable by its account. Only the names of environment variables, never their values.
// - instances.exposed_ports: [{port, url}] as the provisioner reported them when the machine came up.
// - instance_secrets: the environment values and the startup script, sealed (AES-256-GCM under
//   INSTANCE_SECRETS_KEYS, bound to the instance); opened only to hand them to the provisioner,
//   deleted when the machine is released.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE images (
      id text PRIMARY KEY,
      name text NOT NULL,
      description text NOT NULL,
      os text NOT NULL,
      cuda_version text NOT NULL,
      frameworks text[] NOT NULL DEFAULT '{}',
      default_ports integer[] NOT NULL DEFAULT '{}',
      min_vram_gb integer NOT NULL DEFAULT 0 CHECK (min_vram_gb >= 0),
      retired boolean NOT NULL DEFAULT false
    );
    INSERT INTO images (id, name, description, os, cuda_version, frameworks, default_ports, min_vram_gb) VALUES
      ('ubuntu-24.04-cuda-12.8', 'Ubuntu 24.04 + CUDA 12.8',
       'The base image: Ubuntu 24.04 LTS with the NVIDIA driver, CUDA 12.8 toolkit, cuDNN and Python 3.12.',
       'Ubuntu 24.04', '12.8', '{"Python 3.12"}', '{}', 0),
      ('pytorch-2.7', 'PyTorch 2.7',
       'The base image with PyTorch 2.7, torchvision, Hugging Face transformers, accelerate and datasets, for training and fine-tuning.',
       'Ubuntu 24.04', '12.8', '{"PyTorch 2.7","Transformers","Python 3.12"}', '{}', 0),
      ('vllm-0.9', 'vLLM 0.9',
       'vLLM 0.9 serving an OpenAI-compatible API on port 8000 (set MODEL, and HF_TOKEN for gated models). Sized for 13B+ models in 16-bit.',
       'Ubuntu 24.04', '12.8', '{"vLLM 0.9","PyTorch 2.7","Python 3.12"}', '{8000}', 48),
      ('jupyter-pytorch-2.7', 'JupyterLab + PyTorch 2.7',
       'The PyTorch image with JupyterLab 4 listening on port 8888 (token auth; the token is printed in the instance log).',
       'Ubuntu 24.04', '12.8', '{"JupyterLab 4","PyTorch 2.7","Python 3.12"}', '{8888}', 0);

    ALTER TABLE instances
      ADD COLUMN image_id text NOT NULL DEFAULT 'ubuntu-24.04-cuda-12.8' REFERENCES images(id),
      ADD COLUMN ports integer[] NOT NULL DEFAULT '{}',
      ADD COLUMN env_names text[] NOT NULL DEFAULT '{}',
      ADD COLUMN has_startup_script boolean NOT NULL DEFAULT false,
      ADD COLUMN exposed_ports jsonb;

    CREATE TABLE instance_secrets (
      instance_id uuid PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
      env_sealed text,
      startup_script_sealed text
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE instance_secrets;
    ALTER TABLE instances DROP COLUMN exposed_ports, DROP COLUMN has_startup_script, DROP COLUMN env_names,
      DROP COLUMN ports, DROP COLUMN image_id;
    DROP TABLE images;
  `.execute(db);
}
